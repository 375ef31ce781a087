"""kubectl writing back what it read rolls nothing out: the manifest kubectl generates carries
`creationTimestamp: null` in its template, a strategic patch may null an annotation the template
lacks, and `rollout undo` sends the old ReplicaSet's template with the nulls of Go's encoding; the
API server stores none of them, as upstream's typed decode does."""

from __future__ import annotations

import json

from http_live import wait_for


def replicasets(live, namespace: str) -> dict[str, tuple[int, str, str]]:
    """name → (spec.replicas, revision annotation, image) of a namespace's ReplicaSets."""
    doc = json.loads(live.kubectl("get", "rs", "-n", namespace, "-o", "json").stdout)
    return {rs["metadata"]["name"]: (rs["spec"]["replicas"],
                                     rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
                                     rs["spec"]["template"]["spec"]["containers"][0]["image"])
            for rs in doc["items"]}


def generated(live, name: str, namespace: str) -> str:
    """`kubectl create deployment --dry-run=client -o yaml`: the manifest as kubectl writes it, nulls included."""
    live.kubectl("create", "namespace", namespace)
    text = live.kubectl("create", "deployment", name, "--image=nginx", "-n", namespace,
                        "--dry-run=client", "-o", "yaml").stdout
    assert "creationTimestamp: null" in text
    path = live.root / f"{name}.yaml"
    path.write_text(text)
    live.kubectl("apply", "-f", str(path))
    live.kubectl("rollout", "status", f"deploy/{name}", "-n", namespace, "--timeout=30s")
    return str(path)


def generation(live, name: str, namespace: str) -> int:
    return int(live.kubectl("get", "deploy", name, "-n", namespace, "-o", "jsonpath={.metadata.generation}").stdout)


def test_replacing_a_deployment_with_its_unchanged_manifest_rolls_nothing_out(live):
    path = generated(live, "rp", "unset-replace")
    before = replicasets(live, "unset-replace")
    assert "deployment.apps/rp replaced" in live.kubectl("replace", "-f", path).stdout
    assert generation(live, "rp", "unset-replace") == 1
    live.kubectl("rollout", "status", "deploy/rp", "-n", "unset-replace", "--timeout=30s")
    assert replicasets(live, "unset-replace") == before


def test_a_strategic_null_for_an_annotation_the_template_lacks_changes_nothing(live):
    generated(live, "sp", "unset-patch")
    patch = json.dumps({"spec": {"template": {"metadata": {"annotations": {"x": None}}}}})
    out = live.kubectl("patch", "deploy", "sp", "-n", "unset-patch", "-p", patch).stdout
    assert "patched (no change)" in out
    assert generation(live, "sp", "unset-patch") == 1


def test_rollout_undo_reuses_the_previous_replicaset_as_the_newest_revision(live):
    ns = "unset-undo"
    generated(live, "ud", ns)
    [first] = replicasets(live, ns)
    live.kubectl("set", "image", "deploy/ud", "nginx=nginx:1.27", "-n", ns)
    live.kubectl("rollout", "status", "deploy/ud", "-n", ns, "--timeout=30s")
    live.kubectl("rollout", "undo", "deploy/ud", "-n", ns)
    live.kubectl("rollout", "status", "deploy/ud", "-n", ns, "--timeout=30s")
    wait_for(lambda: replicasets(live, ns).get(first, (0,))[0] == 1, "the first ReplicaSet scaled back up")
    sets = replicasets(live, ns)
    assert len(sets) == 2
    assert sets[first] == (1, "3", "nginx")
    history = live.kubectl("rollout", "history", "deploy/ud", "-n", ns).stdout.split()
    assert history[-4:] == ["2", "<none>", "3", "<none>"]
