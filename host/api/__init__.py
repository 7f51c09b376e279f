"""The HTTP API: trigger workflows, receive Alertmanager alerts, read workflows and findings, health, metrics."""
