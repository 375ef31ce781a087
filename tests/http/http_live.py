"""A live `recon up --serve --port 0` on loopback, and real kubectl pointed at it (helpers for tests/http)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


class Live:
    """A running `recon up --serve`: its folder, API address and kubeconfig."""

    def __init__(self, root: Path, proc: subprocess.Popen, url: str, kubeconfig: Path):
        self.root, self.proc, self.url, self.kubeconfig = root, proc, url, kubeconfig
        # What it writes once started (stdout and stderr), read as it comes: a pipe nobody
        # reads would stop the server once full.
        self.output: list[str] = []
        self.readers: list[threading.Thread] = []

    def text(self) -> str:
        """What it wrote once started (all of it once `stop` returned)."""
        return "".join(self.output)

    def died(self) -> str | None:
        """None while the server runs; else how it ended, with the last lines it wrote."""
        code = self.proc.poll()
        if code is None:
            return None
        return f"recon up exited with {code} before it was stopped; its last output:\n" + "".join(self.output[-200:])

    def kubectl(self, *args: str, check: int | None = 0, timeout: float = 30,
                input: str | None = None) -> subprocess.CompletedProcess:
        env = {"HOME": str(self.root / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=timeout, input=input)
        if check is not None:
            assert proc.returncode == check, f"kubectl {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        """A raw HTTP request: (status, headers, body text)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(headers or {})
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()


def wait_for(check, what: str = "the condition", timeout: float = 30.0):
    """Poll `check` until it returns something truthy (returned); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start(root: Path, *extra: str) -> Live:
    shutil.copytree(REPO / "manifests", root / "manifests")
    (root / "home").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "up", "manifests", "--serve", "--port", "0",
                             *extra], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    url = kubeconfig = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("serving the Kubernetes API at "):
            url = line.split(" at ", 1)[1].strip()
        if line.startswith("export KUBECONFIG="):
            kubeconfig = Path(line.split("=", 1)[1].strip())
            break
    assert url and kubeconfig, proc.stderr.read() if proc.stderr else "no output"
    live = Live(root, proc, url, kubeconfig)
    for stream in (proc.stdout, proc.stderr):
        reader = threading.Thread(target=live.output.extend, args=(stream,), daemon=True)
        reader.start()
        live.readers.append(reader)
    deadline = time.monotonic() + 30
    while "web-" not in live.kubectl("get", "pods", "-n", "demo", "-o", "name", check=None).stdout:
        assert time.monotonic() < deadline, "the example cluster did not come up"
        time.sleep(0.2)
    # and converged: a write during the first sync is not seen as drift (live.py learns what
    # the folder owns when that sync ends)
    sizes = ("jsonpath={range .items[*]}{.spec.replicas}={.status.readyReplicas} {end}",)
    while any(a != b for a, _, b in (s.partition("=") for s in live.kubectl(
            "get", "deploy", "-n", "demo", "-o", *sizes, check=None).stdout.split())):
        assert time.monotonic() < deadline, "the example cluster did not converge"
        time.sleep(0.2)
    return live


def stop(live: Live) -> int:
    live.proc.send_signal(signal.SIGTERM)
    try:
        return live.proc.wait(timeout=20)
    finally:
        if live.proc.poll() is None:
            live.proc.kill()
        for reader in live.readers:  # (its pipes close as it exits)
            reader.join(timeout=10)


def pod_manifest(name: str, **annotations: str) -> str:
    """A one-container pod in `default`, with simulation annotations (`exit_after="3s"` → sim.recon.dev/exit-after)."""
    notes = "".join(f"\n    sim.recon.dev/{key.replace('_', '-')}: \"{value}\"" for key, value in annotations.items())
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: default
  annotations:{notes or " {}"}
spec:
  containers:
  - name: app
    image: busybox:1.36
"""


def bound_service_account(namespace: str, account: str, role: str, binding: str, role_kind: str = "ClusterRole") -> str:
    """The manifest of a service account `account` in `namespace` and of the RoleBinding `binding` that
    grants it the ClusterRole (or, with role_kind="Role", the Role) `role` there."""
    return f"""apiVersion: v1
kind: ServiceAccount
metadata: {{name: {account}, namespace: {namespace}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {binding}, namespace: {namespace}}}
subjects: [{{kind: ServiceAccount, name: {account}, namespace: {namespace}}}]
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}
"""


def claim_phases(live: Live) -> dict[str, str | None]:
    """Each PersistentVolumeClaim of `default` by name, with its status phase (None before it has one)."""
    claims = json.loads(live.kubectl("get", "pvc", "-o", "json").stdout)["items"]
    return {c["metadata"]["name"]: c["status"].get("phase") for c in claims}
