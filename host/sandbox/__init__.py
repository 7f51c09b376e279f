"""The sandbox: each workflow in its own `deno run` child with no permissions.

`snapshot` copies a workflow's directory somewhere the workflow cannot change; `graph` refuses
any module outside it or the SDK; `deno` builds the locked-down command line; `process` starts
and stops the child; `worker` speaks JSON-RPC with it; `supervisor` restarts it with backoff.
"""
