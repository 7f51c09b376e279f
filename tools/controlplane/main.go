// Command controlplane runs one component of a real Kubernetes control plane for wfhost's
// tests and for `wfhost localcluster --control-plane kubernetes`.
//
// It is one binary with one subcommand per component, as hyperkube was, so one build serves
// them all and the Python harness (host/localcluster/controlplane/) starts each as its own
// child process, envtest-style:
//
//	controlplane etcd [etcd flags]                     real etcd (go.etcd.io/etcd/server/v3)
//	controlplane kube-apiserver [flags]                the real kube-apiserver
//	controlplane kube-controller-manager [flags]       the real kube-controller-manager
//	controlplane kube-scheduler [flags]                the real kube-scheduler
//	controlplane kubelet-server [flags]                the kubelet's HTTPS API, in front of the process kubelet
//	controlplane pki -dir DIR -node NAME [-hosts ...]  certificates, keys and kubeconfigs
//	controlplane version                               the Kubernetes and etcd versions built in
//
// Every component's flags are its own upstream flags, passed through unchanged; `pki` flags are
// documented by `controlplane pki -h`, `kubelet-server` flags by `controlplane kubelet-server -h`.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // CronJob time zones, as upstream's kube-controller-manager embeds them

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/version"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

const usage = `usage: controlplane COMMAND [flags]

commands:
  etcd                      run etcd (its own flags)
  kube-apiserver            run kube-apiserver (its own flags)
  kube-controller-manager   run kube-controller-manager (its own flags)
  kube-scheduler            run kube-scheduler (its own flags)
  kubelet-server            serve the kubelet API in front of the process kubelet (see kubelet-server -h)
  pki                       write certificates, keys and kubeconfigs (see pki -h)
  version                   print the versions built in
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	command, args := os.Args[1], os.Args[2:]
	switch command {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
	case "kube-apiserver":
		os.Exit(runCobra(apiserver.NewAPIServerCommand(), args))
	case "kube-controller-manager":
		os.Exit(runCobra(controllermanager.NewControllerManagerCommand(), args))
	case "kube-scheduler":
		os.Exit(runCobra(scheduler.NewSchedulerCommand(), args))
	case "kubelet-server":
		os.Exit(runKubeletServer(args))
	case "pki":
		os.Exit(runPKI(args))
	case "version":
		printVersions()
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "controlplane: unknown command %q\n\n%s", command, usage)
		os.Exit(2)
	}
}

// runCobra runs an upstream component's command with the given arguments, exactly as its own
// main would.
func runCobra(command *cobra.Command, args []string) int {
	command.SetArgs(args)
	return cli.Run(command)
}

// printVersions prints the Kubernetes version stamped in at build time (see build.sh) and the
// etcd server version.
func printVersions() {
	fmt.Printf("kubernetes %s\netcd %s\n", version.Get().GitVersion, etcdVersion())
}
