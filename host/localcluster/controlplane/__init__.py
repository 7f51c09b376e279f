"""The real Kubernetes control plane for tests: etcd, kube-apiserver, controller-manager and scheduler.

Built from the Go module in `tools/controlplane/` into a cache outside the repo (`build`),
started as child processes envtest-style with generated certificates (`cluster`), with our
process kubelet as its one node.
"""
