"""Kubernetes API access: an asyncio facade over the official client and watch loops in tiers.

`client` wraps the sync `kubernetes` client (raw JSON dicts, calls in threads); `translate` maps its
errors onto `host.errors` in one place; `stream` / `watch` read watch streams, re-list and re-watch.
"""
