"""The fake scheduler and kubelet: bind pods to the one local node and run their containers as local processes."""
