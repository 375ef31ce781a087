"""Server-side apply and managedFields (engine/fieldpath.py, engine/managedfields.py), in the style
of structured-merge-diff's tables: ownership after create, apply and update; shared ownership;
removal of fields no longer applied; conflicts and force; associative lists by key; atomic lists;
fieldsV1 round trips byte for byte. The API server's side (apply over the pipeline, managedFields
kept by writes that record nothing) last."""

from __future__ import annotations

import json

import attrs
import pytest
from apiserver_fixtures import ADMIN, deployment, make_server

from engine import fieldpath as fp
from engine import managedfields as mf
from engine.apierrors import APIError
from engine.objects import freeze, get_path, thaw
from engine.request import Request

T1, T2, T3 = "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"


def app(image: str = "nginx:1", replicas: int | None = 2, ports: tuple = (80,), labels: dict | None = None,
        **container) -> dict:
    """An applied Deployment configuration."""
    spec: dict = {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": image, **container}]}}}
    if ports:
        spec["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": p} for p in ports]
    if replicas is not None:
        spec["replicas"] = replicas
    meta: dict = {"name": "web", "namespace": "default"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def owned(entries: list, manager: str, operation: str = "Apply", subresource: str = "") -> set[str]:
    """The fields an entry owns, as upstream's path strings (`.spec.replicas`)."""
    for e in entries:
        if (e.manager, e.operation, e.subresource) == (manager, operation, subresource):
            return {fp.path_string(p) for p in e.fields}
    return set()


def apply(live, config, entries, manager, force=False, time=T1):
    return mf.apply(live, config, entries, manager, config["apiVersion"], time, force)


CONTAINER = '.spec.template.spec.containers[name="web"]'


# ------------------------------------------------------------ fieldsV1


@pytest.mark.parametrize("text", [
    '{"f:spec":{"f:replicas":{}}}',
    '{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}',
    '{"f:spec":{"f:containers":{"k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{}}}}}',
    '{"f:spec":{"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}',
    '{"f:metadata":{"f:finalizers":{".":{},"v:\\"a.example.com/x\\"":{},"v:\\"b\\"":{}}}}',
    '{"f:a":{},"f:b":{"i:0":{},"i:2":{},"i:10":{}}}',
    '{"f:x":{"f:z":{},"k:{\\"a\\":1}":{},"k:{\\"a\\":2}":{},"v:3":{},"v:\\"s\\"":{},"i:1":{}}}',
    '{"f:ports":{"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{},"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{},'
    '"k:{\\"port\\":8080,\\"protocol\\":\\"TCP\\"}":{}}}',
])
def test_fields_v1_round_trips_byte_for_byte(text):
    assert fp.fields_json(fp.decode_fields(json.loads(text))) == text


def test_fields_v1_keys_are_canonicalised_when_decoded():
    fields = fp.decode_fields({"f:ports": {'k:{"protocol": "TCP", "containerPort": 80}': {}}})
    assert fp.fields_json(fields) == '{"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{}}}'


@pytest.mark.parametrize("path, text", [
    (("f:spec", "f:replicas"), ".spec.replicas"),
    (("f:spec", 'k:{"name":"web"}', "f:image"), '.spec[name="web"].image'),
    (("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'), '.ports[containerPort=80,protocol="TCP"]'),
    (("f:finalizers", 'v:"x"'), '.finalizers[="x"]'),
    (("f:args", "i:3"), ".args[3]"),
])
def test_paths_print_as_upstream_prints_them(path, text):
    assert fp.path_string(path) == text


# ------------------------------------------------------------ field sets


def test_an_applied_configuration_owns_its_leaves_list_items_and_nothing_above():
    assert fp.fields_json(fp.field_set(app(), fp.BUILTIN) - mf.STRIPPED) == (
        '{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},'
        '"f:spec":{"f:containers":{"k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":'
        '{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}')


@pytest.mark.parametrize("obj, fields", [
    ({"spec": {"args": ["a", "b"]}}, {".spec.args"}),                                  # atomic list
    ({"spec": {"tolerations": [{"key": "k"}]}}, {".spec.tolerations"}),                 # atomic list of maps
    ({"spec": {"selector": {"matchLabels": {"a": "b"}}}}, {".spec.selector"}),           # atomic map
    ({"spec": {"resources": {}}}, {".spec.resources"}),                                # empty map
    ({"metadata": {"finalizers": ["x"]}}, {'.metadata.finalizers[="x"]'}),              # set list
    ({"metadata": {"ownerReferences": [{"uid": "u", "name": "n"}]}},                     # atomic items
     {'.metadata.ownerReferences[uid="u"]'}),
    ({"spec": {"ports": [{"port": 80}]}},                                                # defaulted key
     {'.spec.ports[port=80,protocol="TCP"]', '.spec.ports[port=80,protocol="TCP"].port'}),
])
def test_field_sets_follow_each_lists_and_maps_kind(obj, fields):
    assert {fp.path_string(p) for p in fp.field_set(obj)} == fields


def test_a_custom_resource_reads_its_list_types_from_the_schema():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "rules": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["host", "port"],
                  "items": {"type": "object", "properties": {"host": {"type": "string"}, "port": {"type": "integer"},
                                                             "weight": {"type": "integer"}}}},
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "args": {"type": "array", "items": {"type": "string"}}}}}}
    shape = fp.Shape("", True, schema)
    obj = {"spec": {"rules": [{"host": "a", "port": 1, "weight": 5}], "tags": ["x"], "args": ["y"]}}
    assert {fp.path_string(p) for p in fp.field_set(obj, shape)} == {
        '.spec.rules[host="a",port=1]', '.spec.rules[host="a",port=1].host', '.spec.rules[host="a",port=1].port',
        '.spec.rules[host="a",port=1].weight', '.spec.tags[="x"]', ".spec.args"}


# ------------------------------------------------------------------ apply


def test_apply_to_a_missing_object_creates_it_owned_by_the_applier():
    merged, entries = apply(None, app(), [], "kubectl")
    assert merged == app()
    assert [(e.manager, e.operation, e.api_version, e.time) for e in entries] == [("kubectl", "Apply", "apps/v1", T1)]
    assert owned(entries, "kubectl") == {
        ".spec.replicas", ".spec.selector", ".spec.template.metadata.labels.app", CONTAINER,
        f"{CONTAINER}.name", f"{CONTAINER}.image", f'{CONTAINER}.ports[containerPort=80,protocol="TCP"]',
        f'{CONTAINER}.ports[containerPort=80,protocol="TCP"].containerPort'}


def test_reapplying_a_changed_image_keeps_fields_the_config_never_set():
    live, entries = apply(None, app(), [], "kubectl")
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"  # a default
    merged, entries = apply(live, app(image="nginx:2"), entries, "kubectl", time=T2)
    container = merged["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "web", "image": "nginx:2", "imagePullPolicy": "IfNotPresent",
                         "ports": [{"containerPort": 80}]}
    assert entries[0].time == T2


def test_fields_no_longer_applied_are_removed_from_the_object():
    live, entries = apply(None, app(ports=(80, 443), labels={"a": "1", "b": "2"}), [], "kubectl")
    merged, entries = apply(live, app(ports=(80,), labels={"a": "1"}, replicas=None), entries, "kubectl")
    assert merged["metadata"]["labels"] == {"a": "1"}
    assert merged["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    assert "replicas" not in merged["spec"]
    assert ".spec.replicas" not in owned(entries, "kubectl")


def test_a_removed_field_another_manager_owns_stays():
    live, entries = apply(None, app(labels={"a": "1", "b": "2"}), [], "kubectl")
    live, entries = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "metadata": {"name": "web", "labels": {"b": "2"}}}, entries, "other")
    merged, entries = apply(live, app(labels={"a": "1"}), entries, "kubectl")
    assert merged["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert owned(entries, "other") == {".metadata.labels.b"}


def test_a_container_emptied_by_removal_goes_unless_someone_owns_it():
    live, entries = apply(None, app(labels={"a": "1"}), [], "kubectl")
    merged, _ = apply(live, app(), entries, "kubectl")
    assert "labels" not in merged["metadata"]


def test_two_appliers_of_the_same_value_share_it_and_a_change_then_conflicts():
    live, entries = apply(None, app(), [], "alice")
    live, entries = apply(live, app(), entries, "bob")
    assert ".spec.replicas" in owned(entries, "alice") & owned(entries, "bob")
    with pytest.raises(mf.Conflicts) as caught:
        apply(live, app(replicas=3), entries, "bob")
    assert caught.value.message == 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas'


def test_a_shared_field_given_up_by_one_applier_stays_with_the_other():
    live, entries = apply(None, app(), [], "alice")
    live, entries = apply(live, app(), entries, "bob")
    merged, entries = apply(live, app(replicas=None), entries, "bob")
    assert merged["spec"]["replicas"] == 2
    assert ".spec.replicas" in owned(entries, "alice") and ".spec.replicas" not in owned(entries, "bob")


def test_a_conflict_names_an_update_manager_with_its_version_and_subresource():
    live, entries = apply(None, app(), [], "kubectl")
    scaled = thaw(live)
    scaled["spec"]["replicas"] = 5
    entries = mf.update(live, scaled, entries, "kubectl", "apps/v1", T2, "scale")
    with pytest.raises(mf.Conflicts) as caught:
        apply(scaled, app(), entries, "kubectl")
    error = caught.value.error()
    assert (error.code, error.reason) == (409, "Conflict")
    assert error.message == ('Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" '
                             'using apps/v1: .spec.replicas')
    assert error.details["causes"] == [{"type": "FieldManagerConflict", "field": ".spec.replicas",
                                        "message": 'conflict with "kubectl" with subresource "scale" using apps/v1'}]


def test_several_conflicts_are_grouped_by_manager():
    live, entries = apply(None, app(), [], "alice")
    changed = thaw(live)
    changed["spec"]["replicas"] = 4
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:9"
    entries = mf.update(live, changed, entries, "kubectl-edit", "apps/v1", T2)
    with pytest.raises(mf.Conflicts) as caught:
        apply(changed, app(replicas=2, image="nginx:1", labels={"x": "y"}), entries, "bob")
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-edit" using apps/v1:\n'
        '- .spec.replicas\n'
        f'- {CONTAINER}.image')


def test_force_takes_the_conflicting_fields_from_their_owner():
    live, entries = apply(None, app(), [], "kubectl")
    scaled = thaw(live)
    scaled["spec"]["replicas"] = 5
    entries = mf.update(live, scaled, entries, "kubectl", "apps/v1", T2, "scale")
    merged, entries = apply(scaled, app(), entries, "kubectl", force=True, time=T3)
    assert merged["spec"]["replicas"] == 2
    assert owned(entries, "kubectl", "Update", "scale") == set()
    assert [(e.manager, e.operation) for e in entries] == [("kubectl", "Apply")]


def test_associative_list_items_merge_by_key_and_keep_other_managers_items():
    live, entries = apply(None, app(), [], "kubectl")
    sidecar = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"template": {"spec": {"containers": [
                   {"name": "proxy", "image": "envoy"},
                   {"name": "web", "env": [{"name": "MODE", "value": "fast"}]}]}}}}
    live, entries = apply(live, sidecar, entries, "mesh")
    containers = live["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["proxy", "web"]
    assert containers[1]["env"] == [{"name": "MODE", "value": "fast"}] and containers[1]["image"] == "nginx:1"
    merged, _ = apply(live, app(image="nginx:2"), entries, "kubectl")
    web = next(c for c in merged["spec"]["template"]["spec"]["containers"] if c["name"] == "web")
    assert web["env"] == [{"name": "MODE", "value": "fast"}] and web["image"] == "nginx:2"


def test_an_atomic_list_is_replaced_whole_and_owned_as_one_field():
    live, entries = apply(None, app(args=["a", "b"]), [], "kubectl")
    merged, entries = apply(live, app(args=["c"]), entries, "kubectl")
    assert merged["spec"]["template"]["spec"]["containers"][0]["args"] == ["c"]
    assert f"{CONTAINER}.args" in owned(entries, "kubectl")


def test_an_apply_that_changes_nothing_keeps_its_time():
    live, entries = apply(None, app(), [], "kubectl", time=T1)
    _, entries = apply(live, app(), entries, "kubectl", time=T2)
    assert entries[0].time == T1


# ----------------------------------------------------------------- update


def test_an_update_takes_the_fields_it_changed_from_the_appliers():
    live, entries = apply(None, app(), [], "kubectl")
    edited = thaw(live)
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:3"
    entries = mf.update(live, edited, entries, "kubectl-edit", "apps/v1", T2)
    assert owned(entries, "kubectl-edit", "Update") == {f"{CONTAINER}.image"}
    assert f"{CONTAINER}.image" not in owned(entries, "kubectl") and ".spec.replicas" in owned(entries, "kubectl")


def test_an_update_that_changes_nothing_adds_no_entry_and_keeps_times():
    live, entries = apply(None, app(), [], "kubectl")
    entries = mf.update(live, thaw(live), entries, "kubectl-edit", "apps/v1", T2)
    assert [(e.manager, e.time) for e in entries] == [("kubectl", T1)]


def test_removed_fields_leave_every_entry_and_empty_entries_are_dropped():
    live, entries = apply(None, app(replicas=3), [], "kubectl")
    scaled = thaw(live)
    scaled["spec"]["replicas"] = 5
    entries = mf.update(live, scaled, entries, "hpa", "apps/v1", T2)
    gone = thaw(scaled)
    del gone["spec"]["replicas"]
    entries = mf.update(scaled, gone, entries, "kubectl-edit", "apps/v1", T3)
    assert [e.manager for e in entries] == ["kubectl"]
    assert ".spec.replicas" not in owned(entries, "kubectl")


def test_entries_are_sorted_apply_first_then_by_time_and_manager():
    entries = [mf.Entry("b", "Update", "v1", T2, frozenset({("f:a",)})),
               mf.Entry("a", "Update", "v1", T2, frozenset({("f:b",)})),
               mf.Entry("z", "Update", "v1", T1, frozenset({("f:c",)})),
               mf.Entry("y", "Apply", "v1", T3, frozenset({("f:d",)})),
               mf.Entry("empty", "Apply", "v1", T1, frozenset())]
    assert [d["manager"] for d in mf.encode(entries)] == ["y", "z", "a", "b"]
    assert list(mf.encode(entries)[0]) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]


# ----------------------------------------------------- the API server side

RT_DEPLOYMENT = make_server().registry.by_kind("apps", "Deployment")


def test_track_of_a_create_owns_what_the_body_set_but_not_the_system_metadata():
    obj = freeze(dict(deployment(replicas=1), metadata={"name": "web", "namespace": "default", "uid": "u",
                                                         "labels": {"app": "web"}, "resourceVersion": "5",
                                                         "creationTimestamp": "2026-01-01T00:00:00Z"}))
    stored = mf.track(RT_DEPLOYMENT, None, obj, "kubectl-create", None, 1.0)
    [entry] = mf.decode(get_path(stored, "metadata", "managedFields"))
    fields = {fp.path_string(p) for p in entry.fields}
    assert ".metadata.labels" in fields and ".metadata.labels.app" in fields and ".spec.replicas" in fields
    assert not fields & {".metadata", ".metadata.uid", ".metadata.resourceVersion", ".metadata.name",
                         ".metadata.namespace", ".metadata.creationTimestamp", ".spec", ".spec.template",
                         ".spec.template.spec", ".spec.template.metadata"}
    assert (entry.manager, entry.operation, entry.time) == ("kubectl-create", "Update", "1970-01-01T00:00:01Z")


def test_a_status_update_records_only_status_with_its_subresource():
    old = freeze(deployment(replicas=1))
    new = old.set("status", freeze({"replicas": 1})).set("spec", old["spec"].set("replicas", 9))
    stored = mf.track(RT_DEPLOYMENT, old, new, "kube-controller-manager", "status", 1.0)
    [entry] = mf.decode(get_path(stored, "metadata", "managedFields"))
    assert entry.subresource == "status" and {fp.path_string(p) for p in entry.fields} == {".status.replicas"}


@pytest.mark.parametrize("sent", [[], [{}]])
def test_an_update_sending_empty_managed_fields_resets_them(sent):
    old = mf.track(RT_DEPLOYMENT, None, freeze(deployment(replicas=1)), "kubectl-create", None, 1.0)
    new = old.set("metadata", old["metadata"].set("managedFields", freeze(sent)))
    assert get_path(mf.track(RT_DEPLOYMENT, old, new, "kubectl-edit", None, 2.0), "metadata", "managedFields") is None


def test_an_apply_config_may_not_carry_managed_fields_or_another_version():
    config = dict(app(), metadata={"name": "web", "managedFields": [{"manager": "x"}]})
    with pytest.raises(APIError, match="metadata.managedFields must be nil"):
        mf.apply_object(RT_DEPLOYMENT, None, config, "kubectl", False, None, 1.0)
    with pytest.raises(APIError, match="Specified patch version: apps/v2, expected: apps/v1"):
        mf.apply_object(RT_DEPLOYMENT, None, dict(app(), apiVersion="apps/v2"), "kubectl", False, None, 1.0)


def test_kubectl_takes_over_fields_its_client_side_apply_set_without_conflict():
    annotated = app()
    annotated["metadata"]["annotations"] = {mf.LAST_APPLIED: json.dumps(app())}
    live = mf.track(RT_DEPLOYMENT, None, freeze(annotated), "kubectl-client-side-apply", None, 1.0)
    body, docs = mf.apply_object(RT_DEPLOYMENT, live, app(image="nginx:2"), "kubectl", False, None, 2.0)
    assert [d["manager"] for d in docs] == ["kubectl", "kubectl-client-side-apply"]
    assert json.loads(body["metadata"]["annotations"][mf.LAST_APPLIED])["spec"]["template"]["spec"][
        "containers"][0]["image"] == "nginx:2"
    with pytest.raises(mf.Conflicts):
        mf.apply_object(RT_DEPLOYMENT, live, app(image="nginx:2"), "someone-else", False, None, 2.0)


def _apply_request(config: dict, manager: str | None = "kubectl", force: bool = False) -> Request:
    return Request("patch", "apps", "Deployment", "default", "web", config, patch_type="apply",
                   field_manager=manager, force=force)


def test_the_api_server_applies_creates_and_refuses_a_conflict_with_409(api):
    created = api.request(ADMIN, _apply_request(app()))
    assert created["spec"]["replicas"] == 2 and created["spec"]["revisionHistoryLimit"] == 10  # defaulted
    api.request(ADMIN, Request("patch", "apps", "Deployment", "default", "web", {"spec": {"replicas": 5}},
                               subresource="scale", field_manager="kubectl"))
    with pytest.raises(APIError) as caught:
        api.request(ADMIN, _apply_request(app()))
    assert caught.value.code == 409 and ".spec.replicas" in caught.value.message
    forced = api.request(ADMIN, _apply_request(app(), force=True))
    assert forced["spec"]["replicas"] == 2
    assert [e["manager"] for e in get_path(forced, "metadata", "managedFields")] == ["kubectl"]


def test_writes_that_record_nothing_keep_the_stored_managed_fields(api):
    api.request(ADMIN, _apply_request(app()))
    stored = api.get(ADMIN, "apps", "Deployment", "default", "web")
    body = thaw(stored)
    del body["metadata"]["managedFields"]  # like a manifest that never had them
    body["spec"]["replicas"] = 4
    updated = api.update(ADMIN, body)
    status = api.update(ADMIN, dict(thaw(updated), status={"replicas": 4}), subresource="status")
    assert get_path(status, "metadata", "managedFields") == get_path(stored, "metadata", "managedFields")


def test_an_apply_dry_run_stores_nothing(api):
    api.request(ADMIN, attrs.evolve(_apply_request(app()), dry_run=True))
    assert api.store.head.get(("apps", "Deployment", "default", "web")) is None
