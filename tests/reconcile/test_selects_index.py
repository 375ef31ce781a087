"""`Kind where matches(it.spec.selector, x)`: the objects whose selector selects x, found through the
store's `selects` index (not by reading every object of the kind), and followed as they change."""

from __future__ import annotations

import pytest

SELECTED = """
    component selected
      reads ConfigMap, Service
      writes ConfigMap
    rule services for cm in ConfigMap where cm.data.app != null:
      let labels = {app: cm.data.app, tier: "web"}
      set cm.data.services = join([s.metadata.name for s in (Service in "demo" where matches(it.spec.selector, labels))], ",")
    """


def service(name: str, selector) -> dict:
    spec = {"ports": [{"port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo"}, "spec": spec}


def services_of(cluster, name="probe") -> str:
    return cluster.get("ConfigMap", name)["data"]["services"]


@pytest.fixture
def selected(cluster):
    cluster.rules(selected=SELECTED)
    assert "by ns, selects" in cluster.engine.rules.components[0].python_source
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": "demo"},
                   "data": {"app": "a"}})
    return cluster


def test_the_services_whose_selector_selects_the_labels_and_only_those(selected):
    for name, selector in [("exact", {"app": "a"}), ("both", {"app": "a", "tier": "web"}),
                           ("other", {"app": "b"}), ("more", {"app": "a", "tier": "db"}),
                           ("every", {}), ("none", None)]:
        selected.apply(service(name, selector))
    assert selected.run().converged
    # `{}` selects every labels map (as matches() reads it); no selector selects nothing
    assert services_of(selected) == "both,every,exact"
    keys = selected.store.head.index("selects", ("", "Service", "demo", "app", "a"))
    assert sorted(k[3] for k in keys) == ["both", "exact", "more"]  # filed under one pair each


def test_a_service_that_comes_to_select_the_labels_wakes_the_rule(selected):
    selected.apply(service("s", {"app": "b"}))
    assert selected.run().converged and services_of(selected) == ""
    selected.api.patch(selected.admin, "", "Service", "demo", "s", {"spec": {"selector": {"app": "a"}}})
    assert selected.run().converged and services_of(selected) == "s"
    selected.apply(service("t", {"tier": "web"}))  # new, filed under another pair of the labels
    assert selected.run().converged and services_of(selected) == "s,t"
    selected.api.patch(selected.admin, "", "Service", "demo", "s", {"spec": {"selector": {"app": "c"}}})
    assert selected.run().converged and services_of(selected) == "t"
    assert not selected.store.head.index("selects", ("", "Service", "demo", "app", "a"))  # refiled
    selected.api.delete(selected.admin, "", "Service", "demo", "t")
    assert selected.run().converged and services_of(selected) == ""


@pytest.mark.parametrize("labels, expected", [
    ('{app: "a", extra: [1]}', "s"),  # a value no selector can name: the other pairs still find s
    ('{app: "a", extra: {k: "v"}}', "s"),
])
def test_labels_a_rule_builds_with_values_that_are_not_strings_are_read_as_matches_reads_them(
        cluster, labels, expected):
    cluster.rules(selected=SELECTED.replace('{app: cm.data.app, tier: "web"}', labels))
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": "demo"},
                   "data": {"app": "a"}})
    cluster.apply(service("s", {"app": "a"}))
    assert cluster.run().converged and not cluster.engine.failures
    assert services_of(cluster) == expected


def test_labels_that_are_not_a_map_select_nothing_when_no_selector_is_there_to_ask(cluster):
    cluster.rules(selected=SELECTED.replace('{app: cm.data.app, tier: "web"}', '{metadata: {labels: "x"}}'))
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": "demo"},
                   "data": {"app": "a"}})
    cluster.apply(service("none", None))
    assert cluster.run().converged and not cluster.engine.failures
    assert services_of(cluster) == ""
