"""Named JSON-RPC error codes: the standard ones and ours in -32000..-32099 (see docs/protocol.md).

Defined once, with their descriptions, in `host.model.vocabulary`; re-exported here. Which code
a host error (a policy refusal, a Kubernetes or debug failure) reaches the guest as is decided in
one place, `host.rpc.errors.guest_error`.
"""

from __future__ import annotations

from host.model.vocabulary import ErrorCode as ErrorCode
