"""Federated learning on the fleet: Flower ServerApp, strategies and challengers.

Built in the federated-learning milestone.
"""
