"""Start and stop a real control plane on 127.0.0.1, envtest-style: free ports, generated PKI, readiness.

`KubernetesControlPlane` runs four child processes of the one `controlplane` binary: etcd
(fsync off: a test cluster trades durability for speed), kube-apiserver (Node and RBAC
authorization, the default admission plugins plus NodeRestriction, so Pod Security Admission
is on), kube-controller-manager and kube-scheduler, each with its own client certificate. It
writes an admin kubeconfig, waits for `/readyz` and for the controllers to act, and stops the
children in steps (SIGTERM, a bounded wait, SIGKILL) in reverse order. Unless `with_node` is
false it then joins our process kubelet as the node `node_name` (`node.LocalNode`) and waits
for that Node to be Ready, so pods run as they do on the builtin stand-in.

Two fault hooks act on the real processes: `restart_apiserver()` stops kube-apiserver in steps
and starts it again on the same port and etcd, and `compact_etcd()` compacts etcd's history at
its current revision through etcd's v3 JSON gateway. With the API server's watch cache on (the
default) a watch is served from the cache, which a compaction does not touch; with
`watch_cache=False` watches go to etcd, so a watch from a compacted version gets a real 410.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from host.localcluster.controlplane.build import ControlPlaneUnavailable, binary
from host.localcluster.controlplane.node import LocalNode
from host.localcluster.kubelet.kubelet import Kubelet
from host.localcluster.settings import LocalClusterSettings

log = structlog.get_logger(__name__)

STARTUP_TIMEOUT_SECONDS = 120.0
STOP_GRACE_SECONDS = 10.0
SERVICE_CIDR = "10.0.0.0/24"
# Audit only watches (who watched what, and when each watch ended); everything else: nothing.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["watch"]
  - level: None
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class KubernetesControlPlane:
    """A real control plane. `start()`, then `kubeconfig_path` (admin) and `url`; `stop()`."""

    node_name: str = "localnode"
    port: int = 0
    work_dir: Path | None = None
    with_node: bool = True
    node_settings: LocalClusterSettings | None = None
    watch_cache: bool = True
    node: LocalNode | None = field(init=False, default=None)
    _dir: Path = field(init=False)
    _owns_dir: bool = field(init=False, default=False)
    _children: list[_Child] = field(init=False, default_factory=list)
    url: str = field(init=False, default="")
    etcd_url: str = field(init=False, default="")
    apiserver_restarts: int = field(init=False, default=0)
    _exe: Path | None = field(init=False, default=None)
    _apiserver_args: list[str] = field(init=False, default_factory=list)

    @property
    def pki(self) -> Path:
        return self._dir / "pki"

    @property
    def kubeconfig_path(self) -> Path:
        """The admin (system:masters) kubeconfig."""
        return self.pki / "admin.kubeconfig"

    def kubeconfig_for(self, identity: str) -> Path:
        """`admin`, `kubelet`, `controller-manager` or `scheduler`."""
        return self.pki / f"{identity}.kubeconfig"

    @property
    def logs(self) -> Path:
        return self._dir / "logs"

    @property
    def audit_log(self) -> Path:
        """The API server's audit log (JSON lines): every watch, at Metadata level (`AUDIT_POLICY`)."""
        return self._dir / "logs" / "audit.log"

    def _audit_policy(self) -> Path:
        return self._dir / "audit-policy.yaml"

    def audit_events(self, *, verb: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """The audit log's events so far, optionally only of one verb and one user."""
        if not self.audit_log.exists():
            return []
        events = []
        for line in self.audit_log.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written
            if verb is not None and event.get("verb") != verb:
                continue
            if user is not None and (event.get("user") or {}).get("username") != user:
                continue
            events.append(event)
        return events

    def start(self) -> None:
        exe = binary()
        if self.work_dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="wfhost-controlplane-"))
            self._owns_dir = True
        else:
            self._dir = self.work_dir
            self._dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        port = self.port or free_port()
        self.url = f"https://127.0.0.1:{port}"
        subprocess.run(
            [str(exe), "pki", "-dir", str(self.pki), "-node", self.node_name, "-server", self.url],
            check=True,
            capture_output=True,
        )
        etcd_client, etcd_peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{etcd_client}"
        self._exe = exe
        began = time.monotonic()
        try:
            self._spawn(
                exe,
                "etcd",
                [
                    f"--data-dir={self._dir / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                    f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                    f"--initial-cluster=default=http://127.0.0.1:{etcd_peer}",
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
            )
            self._wait(lambda: _http_ok(f"http://127.0.0.1:{etcd_client}/health"), "etcd", began)
            pki = self.pki
            self._audit_policy().write_text(AUDIT_POLICY)
            self._apiserver_args = [
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The kubernetes Service endpoints may not be a loopback address; nothing here needs them.
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                f"--cert-dir={self._dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                "--kubelet-preferred-address-types=InternalIP",
                # Who opened which watch, as the API server saw it (tests assert on it).
                f"--audit-policy-file={self._audit_policy()}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                f"--watch-cache={str(self.watch_cache).lower()}",
                # On SIGTERM, end open watches within a second (clients re-watch elsewhere, or
                # after a restart) instead of waiting for them: without it the process stays until
                # its stop's SIGKILL, 10 s later, whenever a watch is open.
                "--shutdown-watch-termination-grace-period=1s",
                "--v=0",
            ]
            self._spawn(exe, "kube-apiserver", self._apiserver_args)
            self._wait(self._ready, "kube-apiserver", began)
            common = ["--leader-elect=false", "--secure-port=0", "--v=0"]
            self._spawn(
                exe,
                "kube-controller-manager",
                [
                    f"--kubeconfig={self.kubeconfig_for('controller-manager')}",
                    "--use-service-account-credentials=true",
                    f"--service-account-private-key-file={pki / 'sa.key'}",
                    f"--root-ca-file={pki / 'ca.crt'}",
                    f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                    f"--cluster-signing-key-file={pki / 'ca.key'}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    *common,
                ],
            )
            self._spawn(exe, "kube-scheduler", [f"--kubeconfig={self.kubeconfig_for('scheduler')}", *common])
            self._wait(self._controllers_working, "kube-controller-manager", began)
            if self.with_node:
                self._start_node(exe, began)
        except BaseException:
            self.stop()
            raise
        log.info("controlplane.ready", url=self.url, seconds=round(time.monotonic() - began, 1))

    def _start_node(self, exe: Path, began: float) -> None:
        settings = (self.node_settings or LocalClusterSettings()).model_copy(
            update={"node_name": self.node_name}
        )
        self.node = LocalNode(
            exe=exe,
            server=self.url,
            pki=self.pki,
            work_dir=self._dir,
            settings=settings,
            kubelet_port=free_port(),
            backend_port=free_port(),
        )
        self.node.start()
        self._wait(self._node_ready, f"node {self.node_name}", began)

    def container_pids(self, namespace: str, name: str) -> dict[str, int]:
        """Main process id of each running container of a pod on our node."""
        pids = self._on_kubelet(lambda kubelet: kubelet.container_pids(namespace, name), {})
        assert isinstance(pids, dict)
        return pids

    def kubelet_pids(self) -> list[int]:
        """Main process ids of every running container on our node."""
        pids = self._on_kubelet(lambda kubelet: kubelet.all_pids(), [])
        assert isinstance(pids, list)
        return pids

    def _on_kubelet(self, read: Callable[[Kubelet], object], default: object) -> object:
        node = self.node
        if node is None or node.node is None:
            return default
        kubelet = node.node.kubelet
        return node.call(lambda: read(kubelet))

    # -- readiness -------------------------------------------------------------------------

    def _node_ready(self) -> bool:
        try:
            node = self.get_json(f"/api/v1/nodes/{self.node_name}")
        except (urllib.error.URLError, OSError):
            return False
        status = node.get("status")
        conditions = status.get("conditions", []) if isinstance(status, dict) else []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return context

    def get_json(self, path: str) -> dict[str, object]:
        with urllib.request.urlopen(self.url + path, context=self._ssl(), timeout=10) as response:
            data: dict[str, object] = json.loads(response.read())
            return data

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", context=self._ssl(), timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _controllers_working(self) -> bool:
        # The service-account controller creates `default` in every namespace: the
        # controller-manager is up and acting through the API.
        try:
            self.get_json("/api/v1/namespaces/default/serviceaccounts/default")
            return True
        except (urllib.error.URLError, OSError):
            return False

    def _wait(self, check: object, what: str, began: float) -> None:
        assert callable(check)
        while not check():
            for child in self._children:
                if child.process.poll() is not None:
                    raise ControlPlaneUnavailable(
                        f"{child.name} exited with {child.process.returncode} while starting; its log:\n"
                        + _tail(child.log_path)
                    )
            if time.monotonic() - began > STARTUP_TIMEOUT_SECONDS:
                raise ControlPlaneUnavailable(
                    f"{what} was not ready within {STARTUP_TIMEOUT_SECONDS:.0f} s; logs in {self.logs}"
                )
            time.sleep(0.1)

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, exe: Path, name: str, args: list[str]) -> None:
        log_path = self.logs / f"{name}.log"
        # Appended to: a restarted component (the API server) keeps the log of its first run.
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                [str(exe), name, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self._dir)},
            )
        self._children.append(_Child(name, process, log_path))
        log.debug("controlplane.started", component=name, pid=process.pid)

    def stop_component(self, name: str) -> None:
        """Stop one component (a test's API server restart); `restart_apiserver` brings that one back."""
        for child in self._children:
            if child.name == name:
                _stop(child)

    def restart_apiserver(self, *, grace_seconds: float = STOP_GRACE_SECONDS) -> float:
        """Stop kube-apiserver in steps (SIGTERM, `grace_seconds`, SIGKILL) and start it again on
        the same port and etcd; the seconds from the stop until `/readyz` answered again. Open
        connections to it break; clients see a refused port while it is down."""
        if self._exe is None or not self._apiserver_args:
            raise ControlPlaneUnavailable("restart_apiserver() before start()")
        began = time.monotonic()
        for child in self._children:
            if child.name == "kube-apiserver":
                _stop(child, grace_seconds=grace_seconds)
        self._children = [child for child in self._children if child.name != "kube-apiserver"]
        self._spawn(self._exe, "kube-apiserver", self._apiserver_args)
        self._wait(self._ready, "kube-apiserver", began)
        self.apiserver_restarts += 1
        seconds = time.monotonic() - began
        log.info("controlplane.apiserver_restarted", seconds=round(seconds, 2))
        return seconds

    def etcd_revision(self) -> int:
        """etcd's current revision (every resourceVersion the API server hands out is one)."""
        # A range over one key answers with the store's header: its revision is the newest.
        answer = self._etcd("/v3/kv/range", {"key": base64.b64encode(b"/registry").decode()})
        header = answer.get("header")
        revision = header.get("revision") if isinstance(header, dict) else None
        if not isinstance(revision, str | int):
            raise ControlPlaneUnavailable(f"etcd answered a range without a revision: {answer}")
        return int(revision)

    def compact_etcd(self) -> int:
        """Compact etcd's history at its current revision (physically, before returning) and
        return that revision: a watch or a continued list from any older version now needs what
        etcd no longer has."""
        revision = self.etcd_revision()
        self._etcd("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        log.info("controlplane.etcd_compacted", revision=revision)
        return revision

    def _etcd(self, path: str, body: dict[str, object]) -> dict[str, object]:
        if not self.etcd_url:
            raise ControlPlaneUnavailable("etcd is not running: start() first")
        request = urllib.request.Request(
            self.etcd_url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            data: dict[str, object] = json.loads(response.read())
            return data

    def stop(self) -> None:
        """Stop the node, then every child in reverse order of start; remove the work directory if ours."""
        if self.node is not None:
            try:
                self.node.stop()
            finally:
                self.node = None
        for child in reversed(self._children):
            _stop(child)
        self._children.clear()
        if self._owns_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> KubernetesControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop(child: _Child, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    if child.process.poll() is not None:
        return
    try:
        os.killpg(child.process.pid, signal.SIGTERM)
        child.process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        log.warning("controlplane.sigkill", component=child.name)
        os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()
    except ProcessLookupError:
        child.process.wait()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, size: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return "(no log)"
    return data[-size:].decode(errors="replace")
