"""`wfhost demo`: the local cluster, a slow and leaky sample app, the host and its built-ins, end to end."""
