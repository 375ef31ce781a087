"""RuntimeClass (node.k8s.io/v1): served and validated as upstream's, and the RuntimeClass admission
plugin on a pod's create (overhead, node selector, tolerations)."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, pod

from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.objects import freeze
from engine.printers import columns
from engine.tolerations import merge_tolerations
from engine.validation import validate


def runtime_class(name: str = "gvisor", handler: str = "runsc", **fields) -> dict:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name},
            "handler": handler, **fields}


def causes(api, body, update: bool = False) -> list[tuple[str, str, str]]:
    with pytest.raises(APIError) as caught:
        (api.update if update else api.create)(ADMIN, body)
    assert caught.value.code == 422
    assert caught.value.message.startswith(f'RuntimeClass.node.k8s.io "{body["metadata"]["name"]}" is invalid: ')
    return [(c["field"], c["reason"], c["message"]) for c in caught.value.details["causes"]]


def forbidden(api, body) -> str:
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert caught.value.code == 403 and caught.value.reason == "Forbidden"
    return caught.value.message


# ------------------------------------------------------------------ the kind


def test_runtimeclasses_are_a_cluster_scoped_node_kind_printed_with_their_handler(api):
    for name in ("runtimeclasses", "runtimeclass", "RuntimeClass", "runtimeclasses.node.k8s.io"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version) == ("node.k8s.io", "RuntimeClass", "node.k8s.io/v1")
    rt = BUILTIN.by_kind("node.k8s.io", "RuntimeClass")
    assert not rt.namespaced and rt.subresources == frozenset() and rt.short_names == ()
    made = api.create(ADMIN, runtime_class())
    assert "namespace" not in made["metadata"] and made["handler"] == "runsc"
    assert [c.title for c in columns(rt)] == ["Name", "Handler", "Age"]
    assert [c.title for c in columns(rt, wide=True)] == ["Name", "Handler", "Age"]
    assert columns(rt)[1].cell(made, 0) == "runsc"


def test_a_handler_is_a_dns_label_fixed_once_created(api):
    assert causes(api, runtime_class("bad", "Run_SC")) == [(
        "handler", "FieldValueInvalid", 'Invalid value: "Run_SC": a lowercase RFC 1123 label must consist of lower '
        "case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
        "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")]
    assert causes(api, runtime_class("none", ""))[0][:2] == ("handler", "FieldValueInvalid")
    made = api.create(ADMIN, runtime_class())
    changed = {**made, "handler": "kata"}
    assert causes(api, changed, update=True) == [("handler", "FieldValueInvalid",
                                                  'Invalid value: "kata": field is immutable')]
    kept = api.update(ADMIN, {**made, "metadata": {**made["metadata"], "labels": {"tier": "sandbox"}}})
    assert kept["metadata"]["labels"] == {"tier": "sandbox"}


def test_overhead_and_scheduling_are_validated_as_upstream_words_them(api):
    body = runtime_class("bad", overhead={"podFixed": {"cpu": "-1", "memory": "lots"}},
                         scheduling={"nodeSelector": {"bad key!": "x"},
                                     "tolerations": [{"operator": "Equal", "value": "v"},
                                                     {"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}]})
    got = {(field, reason) for field, reason, _ in causes(api, body)}
    assert got == {("overhead.limits[cpu]", "FieldValueInvalid"), ("overhead.limits[memory]", "FieldValueInvalid"),
                   ("scheduling.nodeSelector", "FieldValueInvalid"),
                   ("scheduling.tolerations[0].operator", "FieldValueInvalid"),
                   ("scheduling.tolerations[1].effect", "FieldValueInvalid")}


def test_a_pods_runtime_class_name_is_a_dns_subdomain_and_its_overhead_quantities():
    body = pod(runtimeClassName="Not_A_Name", overhead={"cpu": "lots"})
    assert [(e.field, e.type) for e in validate(BUILTIN.by_kind("", "Pod"), freeze(body))] == [
        ("spec.runtimeClassName", "FieldValueInvalid"), ("spec.overhead.limits[cpu]", "FieldValueInvalid")]


def test_an_invalid_overhead_is_a_422_before_runtime_class_admission_refuses_it(api):
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod(overhead={"cpu": "-1"}))
    assert caught.value.code == 422
    assert [c["field"] for c in caught.value.details["causes"]] == ["spec.overhead.limits[cpu]"]


# ------------------------------------------------------------------ admission


def test_a_pod_naming_a_missing_runtime_class_is_refused_with_upstreams_message(api):
    assert forbidden(api, pod("web", runtimeClassName="gvisor")) == (
        'pods "web" is forbidden: pod rejected: RuntimeClass "gvisor" not found')
    generated = pod("", runtimeClassName="gvisor")
    generated["metadata"] = {"generateName": "web-", "namespace": "default"}
    assert forbidden(api, generated) == 'pods "web-" is forbidden: pod rejected: RuntimeClass "gvisor" not found'
    api.create(ADMIN, runtime_class())
    assert api.create(ADMIN, pod("web", runtimeClassName="gvisor"))["spec"]["runtimeClassName"] == "gvisor"


def test_the_class_overhead_becomes_the_pods_and_another_one_is_refused(api):
    api.create(ADMIN, runtime_class(overhead={"podFixed": {"cpu": "250m", "memory": "120Mi"}}))
    made = api.create(ADMIN, pod("web", runtimeClassName="gvisor"))
    assert made["spec"]["overhead"] == {"cpu": "250m", "memory": "120Mi"}
    same = api.create(ADMIN, pod("same", runtimeClassName="gvisor", overhead={"cpu": "0.25", "memory": "120Mi"}))
    assert same["spec"]["overhead"] == {"cpu": "250m", "memory": "120Mi"}  # (equal as quantities)
    assert forbidden(api, pod("other", runtimeClassName="gvisor", overhead={"cpu": "1"})) == (
        'pods "other" is forbidden: pod rejected: Pod\'s Overhead doesn\'t match RuntimeClass\'s defined Overhead')


def test_a_pod_may_not_set_an_overhead_without_a_class_that_defines_one(api):
    message = 'pods "web" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead'
    assert forbidden(api, pod("web", overhead={"cpu": "100m"})) == message
    api.create(ADMIN, runtime_class("plain", "runc"))
    assert forbidden(api, pod("web", runtimeClassName="plain", overhead={"cpu": "100m"})) == message
    assert "overhead" not in api.create(ADMIN, pod("web", runtimeClassName="plain"))["spec"]


def test_the_class_node_selector_is_merged_and_a_conflicting_key_refused(api):
    api.create(ADMIN, runtime_class(scheduling={"nodeSelector": {"sandbox": "gvisor", "zone": "a"}}))
    made = api.create(ADMIN, pod("web", runtimeClassName="gvisor", nodeSelector={"disk": "ssd", "zone": "a"}))
    assert made["spec"]["nodeSelector"] == {"disk": "ssd", "zone": "a", "sandbox": "gvisor"}
    bare = api.create(ADMIN, pod("bare", runtimeClassName="gvisor"))
    assert bare["spec"]["nodeSelector"] == {"sandbox": "gvisor", "zone": "a"}
    assert forbidden(api, pod("x", runtimeClassName="gvisor", nodeSelector={"zone": "b"})) == (
        'pods "x" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[zone] = a; '
        "pod.spec.nodeSelector[zone] = b")


def test_the_class_tolerations_are_added_leaving_out_those_the_pod_already_covers(api):
    sandbox = {"key": "sandbox", "operator": "Equal", "value": "gvisor", "effect": "NoSchedule"}
    api.create(ADMIN, runtime_class(scheduling={"tolerations": [
        sandbox, {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                  "tolerationSeconds": 60}]}))
    made = api.create(ADMIN, pod("web", runtimeClassName="gvisor"))
    # (the pod's default not-ready toleration, 300s, covers the class's 60s one)
    assert made["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        sandbox]
    everything = api.create(ADMIN, pod("all", runtimeClassName="gvisor", tolerations=[{"operator": "Exists"}]))
    assert everything["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_merge_tolerations_keeps_the_wider_of_two_and_the_first_of_equal_ones():
    exists = {"key": "k", "operator": "Exists"}
    equal = {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}
    assert merge_tolerations([equal], [exists]) == [exists]
    assert merge_tolerations([exists], [equal]) == [exists]
    assert merge_tolerations([equal], [dict(equal)]) == [equal]
    short = {"key": "t", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}
    long = {**short, "tolerationSeconds": 100}
    assert merge_tolerations([short], [long]) == [long]
    assert merge_tolerations([{"key": "a", "operator": "Exists"}], [{"key": "b", "operator": "Exists"}]) == [
        {"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]


def test_runtime_class_admission_runs_on_create_only(api):
    api.create(ADMIN, runtime_class(overhead={"podFixed": {"cpu": "250m"}}))
    made = api.create(ADMIN, pod("web", runtimeClassName="gvisor"))
    api.delete(ADMIN, "node.k8s.io", "RuntimeClass", None, "gvisor")
    labelled = {**made, "metadata": {**made["metadata"], "labels": {"app": "web", "v": "2"}}}
    assert api.update(ADMIN, labelled)["spec"]["overhead"] == {"cpu": "250m"}
