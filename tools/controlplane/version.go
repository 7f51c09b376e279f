package main

import etcdversion "go.etcd.io/etcd/api/v3/version"

// etcdVersion is the etcd server version compiled in.
func etcdVersion() string { return etcdversion.Version }
