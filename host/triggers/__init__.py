"""Triggers: which loaded workflows want an event (kind, namespaces, labels, name), with per-subject rate limits."""
