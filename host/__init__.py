"""wfhost: a Kubernetes troubleshooting host running sandboxed TypeScript workflows.

Layers, top to bottom: cli -> runtime -> sandbox / capabilities / sources -> kube / rpc -> model.
"""

from __future__ import annotations

__version__ = "0.1.0"
