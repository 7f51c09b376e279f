package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pkiValidity is how long every certificate pki writes stays valid: a test cluster lives for
// minutes, a developer's for days; a year is long enough for both and still expires.
const pkiValidity = 365 * 24 * time.Hour

// identity is one client certificate and the kubeconfig that uses it.
type identity struct {
	file         string   // base name of the .crt/.key/.kubeconfig files
	commonName   string   // the user name the API server sees
	organization []string // the groups the API server sees
}

// runPKI writes, into -dir, everything the control plane and the process kubelet need to
// start: a cluster CA, serving certificates for kube-apiserver and the kubelet, a client
// certificate and kubeconfig per identity (admin, controller-manager, scheduler, the node,
// and the API server's kubelet client), and the service-account signing key pair.
func runPKI(args []string) int {
	flags := flag.NewFlagSet("pki", flag.ContinueOnError)
	dir := flags.String("dir", "", "directory to write into (created; existing files are replaced)")
	node := flags.String("node", "wfhost-node", "the node name: the kubelet's identity is system:node:NAME")
	server := flags.String("server", "", "the API server URL written into every kubeconfig (https://127.0.0.1:PORT)")
	hosts := flags.String("hosts", "127.0.0.1,localhost", "comma-separated IPs and DNS names for the serving certificates")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || *server == "" {
		fmt.Fprintln(os.Stderr, "pki: -dir and -server are required")
		flags.Usage()
		return 2
	}
	if err := writePKI(*dir, *node, *server, strings.Split(*hosts, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "pki: %v\n", err)
		return 1
	}
	return 0
}

func writePKI(dir, node, server string, hosts []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "wfhost-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(pkiValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	if err := writeCertAndKey(dir, "ca", caDER, caKey); err != nil {
		return err
	}
	apiserverHosts := append([]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "10.0.0.1"}, hosts...)
	if err := issue(dir, "apiserver", ca, caKey, pkix.Name{CommonName: "kube-apiserver"},
		x509.ExtKeyUsageServerAuth, apiserverHosts); err != nil {
		return err
	}
	if err := issue(dir, "kubelet-serving", ca, caKey, pkix.Name{CommonName: "system:node:" + node,
		Organization: []string{"system:nodes"}}, x509.ExtKeyUsageServerAuth, append([]string{node}, hosts...)); err != nil {
		return err
	}
	identities := []identity{
		{"admin", "wfhost-admin", []string{"system:masters"}},
		{"controller-manager", "system:kube-controller-manager", nil},
		{"scheduler", "system:kube-scheduler", nil},
		{"kubelet", "system:node:" + node, []string{"system:nodes"}},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"kubeadm:cluster-admins"}},
	}
	for _, id := range identities {
		if err := issue(dir, id.file, ca, caKey, pkix.Name{CommonName: id.commonName, Organization: id.organization},
			x509.ExtKeyUsageClientAuth, nil); err != nil {
			return err
		}
		if err := writeKubeconfig(dir, id.file, server, id.commonName); err != nil {
			return err
		}
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPublic, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey)); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", saPublic)
}

// issue signs a leaf certificate for subject with the CA and writes NAME.crt and NAME.key.
func issue(dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, subject pkix.Name,
	usage x509.ExtKeyUsage, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	template := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(pkiValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, host := range hosts {
		if ip := net.ParseIP(host); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else if host != "" {
			template.DNSNames = append(template.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("signing %s: %w", name, err)
	}
	return writeCertAndKey(dir, name, der, key)
}

func writeCertAndKey(dir, name string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", der); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".key"), "EC PRIVATE KEY", keyDER)
}

func writePEM(path, blockType string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600)
}

// writeKubeconfig writes NAME.kubeconfig for the client certificate NAME.crt, with the
// certificates inlined so the file can be copied anywhere.
func writeKubeconfig(dir, name, server, user string) error {
	read := func(file string) (string, error) {
		data, err := os.ReadFile(filepath.Join(dir, file))
		return base64.StdEncoding.EncodeToString(data), err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return err
	}
	cert, err := read(name + ".crt")
	if err != nil {
		return err
	}
	key, err := read(name + ".key")
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: wfhost
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: wfhost
  context: {cluster: wfhost, user: %s, namespace: default}
current-context: wfhost
`, server, ca, user, cert, key, user)
	return os.WriteFile(filepath.Join(dir, name+".kubeconfig"), []byte(config), 0o600)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return n
}
