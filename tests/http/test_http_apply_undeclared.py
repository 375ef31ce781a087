"""Server-side apply refuses fields the schema does not declare, as upstream's typed conversion does:
whatever `fieldValidation` says, before any merge or conflict, nothing stored; a 500 without a reason
(`Error from server: failed to create typed patch object (NS/NAME; GROUP/VERSION, Kind=KIND): PATH:
field not declared in schema`), paths in structured-merge-diff's words (`containers[name="web"]`)."""

from __future__ import annotations

import json

import pytest
import yaml
from http_live import Live, wait_for
from widget_crd import widget_crd

from engine.apierrors import APIError
from engine.api import fieldvalidation
from engine.kinds import BUILTIN, crd_types

NOT_DECLARED = "field not declared in schema"


def deployment(name: str, container: dict | None = None, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, **spec,
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1", **(container or {})}]}}}}


def refusal(rt, body: dict, subresource: str = "") -> APIError:
    with pytest.raises(APIError) as caught:
        fieldvalidation.check_apply(rt, subresource, body)
    return caught.value


# ------------------------------------------------------------------ the check


def test_an_undeclared_field_in_a_keyed_list_item_is_named_by_its_key():
    error = refusal(BUILTIN.get("apps", "Deployment"), deployment("web", {"imagee": "typo"}))
    assert (error.code, error.reason) == (500, "")
    assert error.message == ('failed to create typed patch object (demo/web; apps/v1, Kind=Deployment): '
                             f'.spec.template.spec.containers[name="web"].imagee: {NOT_DECLARED}')
    assert "reason" not in error.status() and error.status()["code"] == 500


def test_items_of_atomic_lists_are_named_by_index_and_of_port_lists_by_their_keys():
    container = {"ports": [{"containerPort": 80, "hostPrt": 8080}]}
    error = refusal(BUILTIN.get("apps", "Deployment"),
                    deployment("web", container, replcas=2) | {"status": {"replicas": 1, "readyReplica": 1}})
    error_tolerations = refusal(BUILTIN.get("", "Pod"), {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "x"}], "tolerations": [{"key": "a", "efect": "NoSchedule"}]}})
    assert error.message == (
        "failed to create typed patch object (demo/web; apps/v1, Kind=Deployment): errors:\n"
        f"  .spec.replcas: {NOT_DECLARED}\n"
        f'  .spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].hostPrt: {NOT_DECLARED}\n'
        f"  .status.readyReplica: {NOT_DECLARED}")
    assert error_tolerations.message == ("failed to create typed patch object (/p; /v1, Kind=Pod): "
                                         f".spec.tolerations[0].efect: {NOT_DECLARED}")


def test_an_object_names_its_first_undeclared_field_only_as_structured_merge_diff_stops_there():
    error = refusal(BUILTIN.get("", "ConfigMap"), {"apiVersion": "v1", "kind": "ConfigMap",
                                                    "metadata": {"name": "c", "namespace": "demo", "lables": {}},
                                                    "dta": {"a": "b"}, "bianryData": {}})
    assert error.message == ("failed to create typed patch object (demo/c; /v1, Kind=ConfigMap): errors:\n"
                             f"  .metadata.lables: {NOT_DECLARED}\n  .dta: {NOT_DECLARED}")


def test_the_refusals_of_the_configuration_itself_come_first():
    rt = BUILTIN.get("apps", "Deployment")
    with_managed = deployment("web", {"imagee": "typo"})
    with_managed["metadata"]["managedFields"] = [{"manager": "m", "operation": "Apply"}]
    assert refusal(rt, with_managed).message == "metadata.managedFields must be nil"
    other_version = deployment("web", {"imagee": "typo"}) | {"apiVersion": "apps/v1beta1"}
    assert refusal(rt, other_version).code == 400


def test_the_status_subresource_is_checked_and_the_refused_ones_are_left_to_refuse():
    rt = BUILTIN.get("apps", "Deployment")
    body = deployment("web") | {"status": {"replicas": 1, "readyReplica": 1}}
    assert refusal(rt, body, "status").message.endswith(f".status.readyReplica: {NOT_DECLARED}")
    fieldvalidation.check_apply(rt, "scale", body)  # (405 in the apiserver)


def test_declared_and_free_form_fields_pass():
    rt = BUILTIN.get("apps", "Deployment")
    body = deployment("web", {"resources": {"limits": {"cpu": "1", "nvidia.com/gpu": 1}},
                              "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
                      strategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}})
    body["metadata"] |= {"labels": {"any/key": "v"}, "annotations": {"a": "b"}}
    body["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    fieldvalidation.check_apply(rt, "", body)


# ------------------------------------------------------------------ types (structured-merge-diff's validation)


def test_a_string_where_the_schema_says_integer_is_refused_in_structured_merge_diffs_words():
    error = refusal(BUILTIN.get("apps", "Deployment"), deployment("web", replicas="three"))
    assert (error.code, error.reason) == (500, "")
    assert error.message == ("failed to create typed patch object (demo/web; apps/v1, Kind=Deployment): "
                             ".spec.replicas: expected numeric (int or float), got string")


def test_each_scalar_type_and_structure_is_checked_with_the_value_as_go_prints_it():
    body = deployment("web", {"imagePullPolicy": 1, "stdin": "yes", "ports": [{"containerPort": 80, "hostPort": True}]},
                      paused="no", minReadySeconds=[1, 2], strategy="Recreate", selector=[{"app": "web"}])
    body["metadata"]["labels"] = {"tier": 2.5, "n": 3}
    error = refusal(BUILTIN.get("apps", "Deployment"), body)
    assert error.message == (
        "failed to create typed patch object (demo/web; apps/v1, Kind=Deployment): errors:\n"
        "  .metadata.labels.tier: expected string, got &value.valueUnstructured{Value:2.5}\n"
        "  .metadata.labels.n: expected string, got &value.valueUnstructured{Value:3}\n"
        "  .spec.selector: expected map, got &{[map[app:web]]}\n"
        "  .spec.paused: expected boolean, got &{no}\n"
        "  .spec.minReadySeconds: expected numeric (int or float), got []interface {}\n"
        "  .spec.strategy: expected map, got &{Recreate}\n"
        '  .spec.template.spec.containers[name="web"].imagePullPolicy: expected string, got '
        "&value.valueUnstructured{Value:1}\n"
        '  .spec.template.spec.containers[name="web"].stdin: expected boolean, got &{yes}\n'
        '  .spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].hostPort: '
        "expected numeric (int or float), got bool")


def test_untyped_unions_and_nulls_take_any_scalar_and_a_number_any_number():
    rt = BUILTIN.get("apps", "Deployment")
    body = deployment("web", {"resources": {"limits": {"cpu": 1.5, "memory": "1Gi"}}, "stdin": None},
                      replicas=2.0, strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
                      minReadySeconds=None)
    fieldvalidation.check_apply(rt, "", body)


def test_a_custom_resources_declared_types_are_checked_and_what_it_leaves_open_is_not():
    rt = crd_types(WIDGETS)
    error = refusal(rt, widget(size="big", labels={"a": 1}, config={"x": "anything", "ports": [{"port": "p"}]}))
    assert error.message == (
        "failed to create typed patch object (demo/w; example.com/v1, Kind=Widget): errors:\n"
        "  .spec.size: expected numeric (int or float), got string\n"
        "  .spec.labels.a: expected string, got &value.valueUnstructured{Value:1}\n"
        "  .spec.config.ports[0].port: expected numeric (int or float), got string")


WIDGETS = widget_crd({
    "size": {"type": "integer"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "free": {"type": "object"},
    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
        "ports": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}}}},
    "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
              "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    "rows": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}})


def widget(**spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "demo"},
            "spec": spec}


def test_a_custom_resource_is_checked_against_its_structural_schema():
    error = refusal(crd_types(WIDGETS), widget(size=1, colr="red", items=[{"name": "a", "nmae": "b"}],
                                               rows=[{"name": "a", "nmae": "b"}]))
    assert error.message == (
        "failed to create typed patch object (demo/w; example.com/v1, Kind=Widget): errors:\n"
        f"  .spec.colr: {NOT_DECLARED}\n"
        f'  .spec.items[name="a"].nmae: {NOT_DECLARED}\n'
        f"  .spec.rows[0].nmae: {NOT_DECLARED}")


def test_preserve_unknown_fields_opens_everything_inlined_below_and_an_object_without_properties_is_free():
    rt = crd_types(WIDGETS)
    fieldvalidation.check_apply(rt, "", widget(labels={"a": "b"}, free={"any": {"thing": 1}},
                                               config={"x": {"y": 1}, "ports": [{"port": 1, "name": "p"}]}))
    # (typed conversion accepts them; the store then prunes what the schema does not keep, silently)


def test_a_schemaless_root_still_checks_metadata_which_is_a_reference_to_object_meta():
    crd = json.loads(json.dumps(WIDGETS))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = {"type": "object",
                                                               "x-kubernetes-preserve-unknown-fields": True}
    rt = crd_types(crd)
    fieldvalidation.check_apply(rt, "", widget(anything={"deep": 1}) | {"extra": 1})
    body = widget() | {"metadata": {"name": "w", "lables": {}}}
    assert refusal(rt, body).message.endswith(f": .metadata.lables: {NOT_DECLARED}")


# ------------------------------------------------------------------ live, with real kubectl


def write(live: Live, name: str, *docs: dict) -> str:
    path = live.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def apply(live: Live, path: str, *flags: str, check: int | None = 0):
    return live.kubectl("apply", "--server-side", "-f", path, *flags, check=check)


def get(live: Live, kind: str, name: str) -> dict | None:
    result = live.kubectl("get", kind, name, "-n", "demo", "-o", "json", "--show-managed-fields", check=None)
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_kubectl_apply_server_side_of_a_container_typo_fails_and_stores_nothing(live: Live):
    result = apply(live, write(live, "typo", deployment("typo", {"imagee": "typo"})), check=1)
    assert result.stderr.strip() == (
        "Error from server: failed to create typed patch object (demo/typo; apps/v1, Kind=Deployment): "
        f'.spec.template.spec.containers[name="web"].imagee: {NOT_DECLARED}')
    assert get(live, "deployment", "typo") is None


def test_an_existing_object_is_left_as_it_was_and_its_pods_never_see_the_field(live: Live):
    apply(live, write(live, "kept", deployment("kept")))
    wait_for(lambda: pods_of(live, "kept"), "the deployment's pod")
    before = get(live, "deployment", "kept")
    result = apply(live, write(live, "kept", deployment("kept", {"image": "nginx:2", "imagee": "typo"},
                                                        replcas=3)), check=1)
    assert result.stderr.strip() == (
        "Error from server: failed to create typed patch object (demo/kept; apps/v1, Kind=Deployment): errors:\n"
        f"  .spec.replcas: {NOT_DECLARED}\n"
        f'  .spec.template.spec.containers[name="web"].imagee: {NOT_DECLARED}')
    after = get(live, "deployment", "kept")
    assert after["spec"] == before["spec"] and after["metadata"]["managedFields"] == before["metadata"]["managedFields"]
    containers = [c for pod in pods_of(live, "kept") for c in pod["spec"]["containers"]]
    assert [(c["name"], c["image"], "imagee" in c) for c in containers] == [("web", "nginx:1", False)]


def pods_of(live: Live, app: str) -> list[dict]:
    return json.loads(live.kubectl("get", "pods", "-n", "demo", "-l", f"app={app}", "-o", "json").stdout)["items"]


def test_kubectl_apply_server_side_of_a_wrong_type_fails_and_stores_nothing(live: Live):
    result = apply(live, write(live, "wrong-type", deployment("wrong-type", replicas="three")), check=1)
    assert result.stderr.strip() == (
        "Error from server: failed to create typed patch object (demo/wrong-type; apps/v1, Kind=Deployment): "
        ".spec.replicas: expected numeric (int or float), got string")
    assert get(live, "deployment", "wrong-type") is None


def test_a_top_level_typo_fails_whatever_the_validation_directive(live: Live):
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dta", "namespace": "demo"},
                  "dta": {"a": "b"}}
    path = write(live, "dta", config_map)
    expected = ("Error from server: failed to create typed patch object (demo/dta; /v1, Kind=ConfigMap): "
                f".dta: {NOT_DECLARED}")
    for validate in ("strict", "warn", "false"):  # fieldValidation Strict, Warn, Ignore
        result = apply(live, path, f"--validate={validate}", check=1)
        assert result.stderr.strip() == expected, validate
    assert get(live, "configmap", "dta") is None


def test_an_undeclared_field_is_refused_before_a_conflict_is_found(live: Live):
    path = write(live, "conflicted", deployment("conflicted"))
    apply(live, path)
    live.kubectl("scale", "deployment", "conflicted", "-n", "demo", "--replicas=3")
    typo = write(live, "conflicted-typo", deployment("conflicted", {"imagee": "x"}))
    assert apply(live, typo, "--force-conflicts", check=1).stderr.startswith(
        "Error from server: failed to create typed patch object")
    assert "Apply failed with 1 conflict" in apply(live, path, check=1).stderr
    apply(live, path, "--force-conflicts")
    assert get(live, "deployment", "conflicted")["spec"]["replicas"] == 1


def test_a_custom_resource_typo_fails_instead_of_being_dropped(live: Live):
    webapp = {"apiVersion": "example.com/v1", "kind": "WebApp", "metadata": {"name": "colr", "namespace": "demo"},
              "spec": {"image": "nginx", "replicas": 1, "colr": "red"}}
    result = apply(live, write(live, "colr", webapp), check=1)
    assert result.stderr.strip() == ("Error from server: failed to create typed patch object "
                                     f"(demo/colr; example.com/v1, Kind=WebApp): .spec.colr: {NOT_DECLARED}")
    assert get(live, "webapp", "colr") is None
    del webapp["spec"]["colr"]
    apply(live, write(live, "colr", webapp))
    assert get(live, "webapp", "colr")["spec"] == {"image": "nginx", "replicas": 1}


def test_a_crd_that_preserves_unknown_fields_takes_them_and_checks_the_rest(live: Live):
    crd = json.loads(json.dumps(WIDGETS))
    del crd["metadata"]["resourceVersion"]
    apply(live, write(live, "widgets-crd", crd))
    ok = widget(size=1, config={"anything": {"deep": 1}, "ports": [{"port": 1, "extra": True}]})
    apply(live, write(live, "widget", ok))
    stored = get(live, "widget", "w")
    assert stored["spec"]["config"] == {"anything": {"deep": 1}, "ports": [{"port": 1}]}  # (pruned, as upstream)
    result = apply(live, write(live, "widget", widget(size=2, sise=3)), check=1)
    assert result.stderr.strip().endswith(f"(demo/w; example.com/v1, Kind=Widget): .spec.sise: {NOT_DECLARED}")
    assert get(live, "widget", "w")["spec"]["size"] == 1


def test_declared_fields_apply_with_their_managed_fields_recorded(live: Live):
    full = deployment("full", {"ports": [{"name": "http", "containerPort": 80}],
                               "resources": {"limits": {"cpu": "1", "memory": "64Mi"}},
                               "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                               "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}},
                      strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}})
    full["metadata"]["labels"] = {"app.kubernetes.io/name": "full"}
    full["spec"]["template"]["spec"]["tolerations"] = [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]
    result = apply(live, write(live, "full", full))
    assert result.stdout.strip() == "deployment.apps/full serverside-applied"
    stored = get(live, "deployment", "full")
    [entry] = stored["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("kubectl", "Apply")
    container = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert {"f:env", "f:ports", "f:readinessProbe", "f:resources"} <= set(container)
    assert stored["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
