"""The control plane: registry, promotion gate, rollout engine, fleet, approvals, audit.

Built in the control-plane milestone.
"""
