"""kubectl apply's three-way patch: what the manifest owns, and what it leaves alone.

Each test computes the patch and applies it the way the apiserver does
(strategic merge patch for built-in kinds, JSON merge patch for custom ones).
"""

from __future__ import annotations

from engine.manifests import three_way_patch
from engine.objects import freeze, thaw
from engine.patch import merge_patch, strategic_merge_patch


def merge(live, last, new, strategic=True):
    patch = three_way_patch(freeze(live), freeze(last) if last is not None else None, freeze(new), strategic)
    return thaw((strategic_merge_patch if strategic else merge_patch)(freeze(live), patch))


def test_fields_the_manifest_sets_are_set():
    assert merge({"spec": {"replicas": 1}}, {"spec": {"replicas": 1}}, {"spec": {"replicas": 3}}) == {"spec": {"replicas": 3}}


def test_fields_the_manifest_stopped_setting_are_removed():
    live = {"metadata": {"labels": {"app": "web", "tier": "front"}}}
    last = {"metadata": {"labels": {"app": "web", "tier": "front"}}}
    new = {"metadata": {"labels": {"app": "web"}}}
    assert merge(live, last, new) == {"metadata": {"labels": {"app": "web"}}}


def test_fields_set_by_others_are_kept():
    live = {"spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}, "status": {"loadBalancer": {}}}
    last = {"spec": {"ports": [{"port": 80}]}}
    new = {"spec": {"ports": [{"port": 8080}]}}
    out = merge(live, last, new)
    assert out["spec"]["clusterIP"] == "10.96.0.10"
    assert out["status"] == {"loadBalancer": {}}
    assert out["spec"]["ports"] == [{"port": 8080}]


def test_replicas_set_by_a_controller_survive_when_the_manifest_never_set_them():
    live = {"spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "c", "image": "a"}]}}}}
    last = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "a"}]}}}}
    new = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "b"}]}}}}
    assert merge(live, last, new)["spec"]["replicas"] == 5


def test_replicas_are_removed_when_the_manifest_stops_setting_them():
    live = {"spec": {"replicas": 3}}
    assert merge(live, {"spec": {"replicas": 3}}, {"spec": {}}) == {"spec": {}}


def test_named_list_items_merge_with_their_live_versions_keeping_defaults():
    live = {"containers": [{"name": "c", "image": "a", "imagePullPolicy": "IfNotPresent",
                            "terminationMessagePath": "/dev/termination-log"}]}
    last = {"containers": [{"name": "c", "image": "a"}]}
    new = {"containers": [{"name": "c", "image": "b"}]}
    (container,) = merge(live, last, new)["containers"]
    assert container == {"name": "c", "image": "b", "imagePullPolicy": "IfNotPresent",
                         "terminationMessagePath": "/dev/termination-log"}


def test_list_items_removed_from_the_manifest_go_and_items_others_added_stay():
    live = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "INJECTED", "value": "x"}]}
    last = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    new = {"env": [{"name": "B", "value": "3"}]}
    assert merge(live, last, new)["env"] == [{"name": "B", "value": "3"}, {"name": "INJECTED", "value": "x"}]


def test_custom_resources_replace_lists_whole():
    live = {"spec": {"env": [{"name": "A"}, {"name": "INJECTED"}]}}
    new = {"spec": {"env": [{"name": "A"}]}}
    assert merge(live, new, new, strategic=False)["spec"]["env"] == [{"name": "A"}]


def test_lists_without_a_merge_key_are_replaced():
    live = {"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}
    assert merge(live, None, {"spec": {"tolerations": [{"key": "c"}]}})["spec"]["tolerations"] == [{"key": "c"}]


def test_an_explicit_null_removes_the_field():
    assert merge({"spec": {"a": 1, "b": 2}}, None, {"spec": {"a": None}}) == {"spec": {"b": 2}}


def test_without_a_last_applied_configuration_nothing_is_removed():
    live = {"metadata": {"labels": {"x": "1"}}}
    assert merge(live, None, {"metadata": {"labels": {"y": "2"}}}) == {"metadata": {"labels": {"x": "1", "y": "2"}}}


def test_nothing_to_change_is_an_empty_patch():
    live = freeze({"spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "c", "image": "a", "imagePullPolicy": "IfNotPresent"}]}}}, "status": {"ready": 3}})
    new = freeze({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "a"}]}}}})
    assert three_way_patch(live, new, new) == {}


def test_the_patch_names_only_what_differs():
    live = freeze({"spec": {"replicas": 3, "paused": False}, "metadata": {"labels": {"a": "1", "b": "2"}}})
    last = freeze({"spec": {"replicas": 3}, "metadata": {"labels": {"a": "1", "b": "2"}}})
    new = freeze({"spec": {"replicas": 4}, "metadata": {"labels": {"a": "1"}}})
    assert three_way_patch(live, last, new) == {"spec": {"replicas": 4}, "metadata": {"labels": {"b": None}}}


def test_finalizers_merge_as_a_set():
    live = {"metadata": {"finalizers": ["a", "controller-added"]}}
    out = merge(live, {"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": ["b"]}})
    assert sorted(out["metadata"]["finalizers"]) == ["b", "controller-added"]


def test_a_retain_keys_union_keeps_only_what_the_manifest_sets():
    # a Deployment switched to Recreate: the API server defaulted rollingUpdate, the manifest never
    # set it, and kubectl's patch lists `$retainKeys` so that it goes (patchStrategy retainKeys)
    live = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}}
    new = {"spec": {"strategy": {"type": "Recreate"}}}
    assert merge(live, {"spec": {}}, new) == {"spec": {"strategy": {"type": "Recreate"}}}
    # a volume's source replaced: only the new source stays
    live = {"spec": {"volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}]}}
    new = {"spec": {"volumes": [{"name": "data", "hostPath": {"path": "/d"}}, {"name": "cfg", "configMap": {"name": "c"}}]}}
    assert merge(live, live, new) == new
