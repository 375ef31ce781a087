"""kubectl debug POD: the pods/ephemeralcontainers subresource takes kubectl's strategic merge patch,
the kubelet plays the debug container's command out, and kubectl's get, logs and describe show it.
Attaching to it (-i/-t) fails as recon runs no process; kubectl then prints its log instead."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from http_live import REPO, Live, pod_manifest, wait_for


def _running_pod(live: Live, name: str) -> str:
    path = live.root / f"{name}.yaml"
    path.write_text(pod_manifest(name))
    live.kubectl("apply", "-f", str(path))
    wait_for(lambda: live.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout == "Running",
             f"pod {name} running")
    return name


def _debug(live: Live, pod: str, *args: str, check: int | None = 0):
    return live.kubectl("debug", pod, "--image=busybox", *args, check=check, timeout=60)


def _jsonpath(live: Live, pod: str, path: str) -> str:
    return live.kubectl("get", "pod", pod, "-o", f"jsonpath={path}").stdout


def test_kubectl_debug_runs_the_command_in_an_ephemeral_container_whose_status_and_log_show_it(live):
    pod = _running_pod(live, "debugged")
    out = _debug(live, pod, "--", "echo", "hi").stdout
    name = re.search(r"Defaulting debug container name to (debugger-[a-z0-9]{5})\.", out).group(1)
    status = f"{{.status.ephemeralContainerStatuses[?(@.name=='{name}')]"
    wait_for(lambda: _jsonpath(live, pod, status + ".state.terminated.exitCode}") == "0", "the debugger's exit")
    assert _jsonpath(live, pod, status + ".state.terminated.reason}") == "Completed"
    assert _jsonpath(live, pod, status + ".restartCount}") == "0"
    assert _jsonpath(live, pod, status + ".image}") == "docker.io/library/busybox:latest"
    assert json.loads(_jsonpath(live, pod, "{.spec.ephemeralContainers}")) == [{
        "command": ["echo", "hi"], "image": "busybox", "imagePullPolicy": "Always", "name": name,
        "resources": {}, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]
    assert live.kubectl("logs", pod, "-c", name).stdout.splitlines() == [
        f"started container {name}", f"container {name} exited with code 0"]
    recon_logs = subprocess.run([sys.executable, "-m", "engine.cli", "logs", pod, "-c", name], cwd=live.root,
                                capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert [line.split(" ", 1)[1] for line in recon_logs.stdout.splitlines()] == [
        f"started container {name}", f"container {name} exited with code 0"], recon_logs.stderr
    ready = live.kubectl("get", "pod", pod, "--no-headers").stdout.split()[1]
    assert ready == "1/1"  # (only the pod's own containers count)
    described = live.kubectl("describe", "pod", pod).stdout
    section = described.split("Ephemeral Containers:", 1)[1].split("Conditions:", 1)[0]
    assert f"  {name}:" in section and re.search(r"State:\s+Terminated", section)
    assert re.search(r"Exit Code:\s+0", section) and re.search(r"Ready:\s+False", section)


def test_a_debug_container_targets_a_container_of_the_pod(live):
    pod = _running_pod(live, "targeted")
    _debug(live, pod, "-c", "shell", "--target=app", "--", "sh")
    wait_for(lambda: _jsonpath(live, pod, "{.status.ephemeralContainerStatuses[0].state.running.startedAt}"),
             "the shell running")
    assert _jsonpath(live, pod, "{.spec.ephemeralContainers[0].targetContainerName}") == "app"
    failed = _debug(live, pod, "-c", "lost", "--target=nope", "--", "sh", check=1)
    assert (f'The Pod "{pod}" is invalid: spec.ephemeralContainers[1].targetContainerName: Not found: "nope"'
            in failed.stderr)
    failed = _debug(live, pod, "-c", "app", "--", "sh", check=1)
    assert 'spec.ephemeralContainers[1].name: Duplicate value: "app"' in failed.stderr


def test_kubectl_debug_interactive_falls_back_to_the_log_as_nothing_can_be_attached(live):
    pod = _running_pod(live, "interactive")
    done = _debug(live, pod, "-i", "-c", "shell", "--", "sh")
    assert ("warning: couldn't attach to pod/interactive, falling back to streaming logs: pods/attach is not "
            "supported: recon simulates containers, so there is no process to attach to") in done.stderr
    assert "started container shell" in done.stdout
    assert _jsonpath(live, pod, "{.status.ephemeralContainerStatuses[0].state.running.startedAt}")


def test_the_subresource_is_discovered_and_a_get_of_it_is_the_pod(live):
    pod = _running_pod(live, "plain")
    resources = json.loads(live.kubectl("get", "--raw", "/api/v1").stdout)["resources"]
    entry = next(r for r in resources if r["name"] == "pods/ephemeralcontainers")
    assert (entry["kind"], entry["verbs"]) == ("Pod", ["get", "patch", "update"])
    code, _, body = live.request("GET", f"/api/v1/namespaces/default/pods/{pod}/ephemeralcontainers")
    assert code == 200 and (json.loads(body)["kind"], json.loads(body)["metadata"]["name"]) == ("Pod", pod)
    code, _, _ = live.request("POST", f"/api/v1/namespaces/default/pods/{pod}/ephemeralcontainers", {})
    assert code == 405


def test_no_default_role_but_cluster_admin_may_add_ephemeral_containers(live):
    pod = _running_pod(live, "guarded")
    live.kubectl("create", "serviceaccount", "editor")
    live.kubectl("create", "rolebinding", "editor-edit", "--clusterrole=edit", "--serviceaccount=default:editor")
    token = live.kubectl("create", "token", "editor").stdout.strip()
    patch = {"spec": {"ephemeralContainers": [{"name": "sneak", "image": "busybox"}]}}
    headers = {"Content-Type": "application/strategic-merge-patch+json"}
    path = f"/api/v1/namespaces/default/pods/{pod}"
    assert live.request("PATCH", path, {"metadata": {"labels": {"edited": "yes"}}}, token=token, headers=headers)[0] == 200
    code, _, body = live.request("PATCH", path + "/ephemeralcontainers", patch, token=token, headers=headers)
    assert code == 403
    assert json.loads(body)["message"] == (
        f'pods "{pod}" is forbidden: User "system:serviceaccount:default:editor" cannot patch resource '
        '"pods/ephemeralcontainers" in API group "" in the namespace "default"')
    assert live.kubectl("auth", "can-i", "patch", "pods/ephemeralcontainers").stdout.strip() == "yes"
