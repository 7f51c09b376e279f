"""`python -m host.agent ...` runs the agent like the `wfhost-agent` console script."""

from __future__ import annotations

from host.agent.main import main

main()
