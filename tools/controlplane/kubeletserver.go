package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	clientremotecommand "k8s.io/client-go/tools/remotecommand"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

// Stream timeouts, as the real kubelet's defaults (--streaming-connection-idle-timeout is 4h;
// a test node has no use for idle sessions that long).
const (
	streamIdleTimeout     = 30 * time.Minute
	streamCreationTimeout = 30 * time.Second
)

// runKubeletServer serves the kubelet's HTTPS API that kube-apiserver proxies to, in front of
// wfhost's process kubelet (Python), which runs the containers.
//
// kube-apiserver speaks SPDY to a kubelet for exec whenever a client asked with kubectl's
// WebSocket v5 protocol (the apiserver's stream translator), and the Python client offers v5
// too. Rather than implement SPDY in Python, this front end terminates it with the kubelet's
// own streaming package (k8s.io/cri-streaming, SPDY and WebSocket alike) and relays each exec
// to the Python kubelet over WebSocket v5, which client-go speaks. Every other path
// (containerLogs, healthz) is reverse-proxied as is.
func runKubeletServer(args []string) int {
	flags := flag.NewFlagSet("kubelet-server", flag.ContinueOnError)
	listen := flags.String("listen", "127.0.0.1:10250", "address to serve the kubelet API on (HTTPS)")
	certFile := flags.String("tls-cert-file", "", "serving certificate (PEM)")
	keyFile := flags.String("tls-private-key-file", "", "serving key (PEM)")
	clientCA := flags.String("client-ca-file", "", "CA that signs the API server's kubelet client certificate; clients without one are refused")
	backend := flags.String("backend", "", "the process kubelet's private HTTP endpoint (http://127.0.0.1:PORT)")
	tokenFile := flags.String("backend-token-file", "", "file holding the bearer token the backend expects")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *certFile == "" || *keyFile == "" || *clientCA == "" || *backend == "" || *tokenFile == "" {
		fmt.Fprintln(os.Stderr, "kubelet-server: -tls-cert-file, -tls-private-key-file, -client-ca-file, -backend and -backend-token-file are required")
		return 2
	}
	server, err := newKubeletServer(*listen, *certFile, *keyFile, *clientCA, *backend, *tokenFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubelet-server: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "kubelet-server: serving on https://%s, relaying to %s\n", *listen, *backend)
	if err := server.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "kubelet-server: %v\n", err)
		return 1
	}
	return 0
}

func newKubeletServer(listen, certFile, keyFile, clientCA, backend, tokenFile string) (*http.Server, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	caPEM, err := os.ReadFile(clientCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", clientCA)
	}
	tokenBytes, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(string(tokenBytes))
	target, err := url.Parse(backend)
	if err != nil {
		return nil, fmt.Errorf("parsing -backend: %w", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // stream followed logs as they come
	director := proxy.Director
	proxy.Director = func(req *http.Request) {
		director(req)
		req.Header.Set("Authorization", "Bearer "+token)
	}
	relay := &execRelay{backend: target, token: token}
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/", relay.serveExec)
	mux.Handle("/", proxy)
	return &http.Server{
		Addr:    listen,
		Handler: mux,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{pair},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 30 * time.Second,
	}, nil
}

// execRelay serves /exec/{namespace}/{pod}/{container} (and the /exec/{namespace}/{pod}/{uid}/
// {container} form) with the kubelet's streaming code and runs the command through the
// process kubelet.
type execRelay struct {
	backend *url.URL
	token   string
}

func (r *execRelay) serveExec(w http.ResponseWriter, req *http.Request) {
	parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/exec/"), "/")
	if len(parts) != 3 && len(parts) != 4 {
		http.Error(w, "expected /exec/{namespace}/{pod}/[{uid}/]{container}", http.StatusNotFound)
		return
	}
	namespace, pod, container := parts[0], parts[1], parts[len(parts)-1]
	uid := ""
	if len(parts) == 4 {
		uid = parts[2]
	}
	options, err := remotecommand.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	command := req.URL.Query()["command"]
	executor := &backendExecutor{relay: r, namespace: namespace}
	remotecommand.ServeExec(w, req, executor, pod, uid, container, command, options,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// backendExecutor runs one exec through the process kubelet's WebSocket endpoint.
type backendExecutor struct {
	relay     *execRelay
	namespace string
}

func (e *backendExecutor) ExecInContainer(ctx context.Context, pod string, _ string, container string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	query := url.Values{"command": cmd}
	streams := clientremotecommand.StreamOptions{Tty: tty}
	if in != nil {
		query.Set("stdin", "true")
		streams.Stdin = in
	}
	if out != nil {
		query.Set("stdout", "true")
		streams.Stdout = out
	} else {
		query.Set("stdout", "false")
	}
	if errOut != nil {
		query.Set("stderr", "true")
		streams.Stderr = errOut
	} else {
		query.Set("stderr", "false")
	}
	target := *e.relay.backend
	target.Path = fmt.Sprintf("/exec/%s/%s/%s", url.PathEscape(e.namespace), url.PathEscape(pod), url.PathEscape(container))
	target.RawQuery = query.Encode()
	config := &rest.Config{Host: e.relay.backend.String(), BearerToken: e.relay.token}
	executor, err := clientremotecommand.NewWebSocketExecutor(config, "GET", target.String())
	if err != nil {
		return err
	}
	return executor.StreamWithContext(ctx, streams)
}
