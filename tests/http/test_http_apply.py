"""Server-side apply through real kubectl (v1.32): `kubectl apply --server-side`, conflicts with
`kubectl scale` and `--force-conflicts`, other field managers, client-side apply afterwards, and
managedFields recorded for every other write (manager from the User-Agent)."""

from __future__ import annotations

import json

import yaml
from http_live import Live

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: default
{labels}spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: {image}
        ports:
{ports}"""


def manifest(live: Live, name: str, image: str = "nginx:1", ports: tuple = (80, 443), labels: str = "") -> str:
    text = MANIFEST.format(name=name, image=image, labels=labels,
                           ports="".join(f"        - containerPort: {p}\n" for p in ports))
    path = live.root / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def stored(live: Live, name: str) -> dict:
    return json.loads(live.kubectl("get", "deployment", name, "-o", "json", "--show-managed-fields").stdout)


def managers(obj: dict) -> list[tuple]:
    return [(e["manager"], e["operation"], e.get("subresource", "")) for e in obj["metadata"].get("managedFields", [])]


def test_apply_server_side_creates_the_object_owned_by_kubectl(live):
    result = live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-create"))
    assert result.stdout.strip() == "deployment.apps/ssa-create serverside-applied"
    obj = stored(live, "ssa-create")
    [entry] = obj["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["fieldsType"]) == \
        ("kubectl", "Apply", "apps/v1", "FieldsV1")
    container = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert set(container) == {".", "f:image", "f:name", "f:ports"}
    assert set(container["f:ports"]) == {'k:{"containerPort":80,"protocol":"TCP"}',
                                         'k:{"containerPort":443,"protocol":"TCP"}'}
    assert obj["spec"]["revisionHistoryLimit"] == 10  # defaulted, owned by nobody


def test_a_second_apply_with_a_changed_image_keeps_the_ports(live):
    live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-image"))
    live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-image", image="nginx:2"))
    container = stored(live, "ssa-image")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:2"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}]


def test_a_field_removed_from_the_applied_file_is_removed_from_the_object(live):
    live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-remove", labels="  labels: {tier: web}\n"))
    live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-remove", ports=(80,)))
    obj = stored(live, "ssa-remove")
    assert obj["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert "tier" not in (obj["metadata"].get("labels") or {})


def test_a_field_kubectl_scale_changed_conflicts_until_forced(live):
    path = manifest(live, "ssa-scale")
    live.kubectl("apply", "--server-side", "-f", path)
    live.kubectl("scale", "deployment", "ssa-scale", "--replicas=5")
    assert ("kubectl", "Update", "scale") in managers(stored(live, "ssa-scale"))
    refused = live.kubectl("apply", "--server-side", "-f", path, check=1)
    assert refused.stderr.startswith('error: Apply failed with 1 conflict: conflict with "kubectl" with subresource '
                                     '"scale" using apps/v1: .spec.replicas\nPlease review the fields above')
    assert stored(live, "ssa-scale")["spec"]["replicas"] == 5
    live.kubectl("apply", "--server-side", "--force-conflicts", "-f", path)
    obj = stored(live, "ssa-scale")
    assert obj["spec"]["replicas"] == 2
    assert managers(obj) == [("kubectl", "Apply", "")]


def test_the_conflict_is_a_409_status_with_field_manager_causes(live):
    path = manifest(live, "ssa-status")
    live.kubectl("apply", "--server-side", "-f", path)
    live.kubectl("scale", "deployment", "ssa-status", "--replicas=3")
    config = yaml.safe_load(open(path))
    code, headers, text = live.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/ssa-status"
                                       "?fieldManager=kubectl", config, headers={
                                           "Content-Type": "application/apply-patch+yaml"})
    status = json.loads(text)
    assert (code, status["reason"], status["code"]) == (409, "Conflict", 409)
    assert status["details"]["causes"] == [{"type": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": 'conflict with "kubectl" with subresource "scale" '
                                                       'using apps/v1'}]


def test_another_field_manager_owns_what_it_applies_beside_kubectl(live):
    live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-other"))
    other = live.root / "other.yaml"
    other.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ssa-other\n  namespace: default\n"
                     "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n"
                     "        - {name: MODE, value: fast}\n")
    live.kubectl("apply", "--server-side", "--field-manager=other", "-f", str(other))
    obj = stored(live, "ssa-other")
    assert managers(obj) == [("kubectl", "Apply", ""), ("other", "Apply", "")]
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "MODE", "value": "fast"}] and container["image"] == "nginx:1"


def test_client_side_apply_after_server_side_apply_records_an_update(live):
    path = manifest(live, "ssa-then-csa")
    live.kubectl("apply", "--server-side", "-f", path)
    live.kubectl("apply", "-f", manifest(live, "ssa-then-csa", image="nginx:3"))
    obj = stored(live, "ssa-then-csa")
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:3"
    assert ("kubectl-client-side-apply", "Update", "") in managers(obj)


def test_kubectl_create_and_label_record_updates_named_from_the_user_agent(live):
    live.kubectl("create", "deployment", "ssa-created", "--image=nginx")
    live.kubectl("label", "deployment", "ssa-created", "tier=web")
    obj = stored(live, "ssa-created")
    assert managers(obj) == [("kubectl-create", "Update", ""), ("kubectl-label", "Update", "")]
    label_entry = obj["metadata"]["managedFields"][1]
    assert label_entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:tier": {}}}}


def test_get_yaml_hides_managed_fields_unless_asked(live):
    live.kubectl("apply", "--server-side", "-f", manifest(live, "ssa-hidden"))
    plain = yaml.safe_load(live.kubectl("get", "deployment", "ssa-hidden", "-o", "yaml").stdout)
    assert "managedFields" not in plain["metadata"]
    assert "managedFields" in stored(live, "ssa-hidden")["metadata"]


def test_an_apply_without_a_field_manager_is_refused_as_upstream_refuses_it(live):
    code, _, text = live.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/ssa-none",
                                 {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ssa-none"}},
                                 headers={"Content-Type": "application/apply-patch+yaml"})
    status = json.loads(text)
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                 'is required for apply patch')


def test_apply_patch_cbor_is_an_unsupported_media_type(live):
    code, _, text = live.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/x?fieldManager=me", {},
                                 headers={"Content-Type": "application/apply-patch+cbor"})
    assert (code, json.loads(text)["reason"]) == (415, "UnsupportedMediaType")


def test_a_dry_run_apply_creates_nothing(live):
    live.kubectl("apply", "--server-side", "--dry-run=server", "-f", manifest(live, "ssa-dry"))
    assert live.kubectl("get", "deployment", "ssa-dry", check=1).stderr.startswith("Error from server (NotFound)")


def test_an_apply_that_creates_answers_201_and_one_that_updates_200(live):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-status"}, "data": {"a": "1"}}
    path = "/api/v1/namespaces/default/configmaps/ssa-status?fieldManager=test"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    status, _, text = live.request("PATCH", path, body, headers=headers)
    assert status == 201, text
    status, _, text = live.request("PATCH", path, {**body, "data": {"a": "2"}}, headers=headers)
    assert status == 200 and json.loads(text)["data"] == {"a": "2"}
