"""Event sources: cluster watches turned into normalized `Event`s (pods, core/v1 Warning Events).

`pods` and `k8s_events` follow the API through `host.kube.watch`; `tracker` and `classify` decide
which transitions become events; `normalize` shapes what workflows see.
"""
