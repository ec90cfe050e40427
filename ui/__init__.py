"""The administrative dashboard and its role-based access (built in the dashboard milestone)."""
