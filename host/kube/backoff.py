"""The watch loops' backoff: `host.backoff.Backoff` (equal jitter), re-exported under its old name.

The implementation moved to the neutral `host.backoff` so the sandbox's restarts share it.
"""

from __future__ import annotations

from host.backoff import Backoff as Backoff
