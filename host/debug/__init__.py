"""Privileged debugging of a live pod: one long-lived ephemeral debug container per target container,
the debug agent run inside it through `exec`, its JSON result read back."""
