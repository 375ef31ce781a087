"""rules/clusterrole-aggregation.rules (upstream clusterroleaggregation controller) and RBAC reading its result."""

from __future__ import annotations

import pytest

from engine.api.auth import Attributes, User, authorized

RBAC = "rbac.authorization.k8s.io"
LABEL = "rbac.example.com/aggregate-to-agg"


@pytest.fixture
def agg(controller_cluster):
    controller_cluster.load("clusterrole-aggregation")
    return controller_cluster


def cluster_role(cluster, name: str, rules: list | None = None, labels: dict | None = None,
                 selectors: list | None = None) -> dict:
    obj = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": name}}
    if labels:
        obj["metadata"]["labels"] = labels
    if rules is not None:
        obj["rules"] = rules
    if selectors is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return cluster.create(obj)


def rule(verbs, resources, groups=("",)) -> dict:
    return {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}


def rules_of(cluster, name: str):
    return cluster.get("ClusterRole", name, "").get("rules")


def test_an_aggregated_role_gets_the_rules_of_the_roles_its_selector_selects(agg):
    cluster_role(agg, "agg", selectors=[{"matchLabels": {LABEL: "true"}}])
    cluster_role(agg, "part", [rule(["get"], ["configmaps"])])
    cluster_role(agg, "other", [rule(["delete"], ["pods"])])
    assert agg.run().converged
    assert not rules_of(agg, "agg")
    agg.patch("ClusterRole", "part", {"metadata": {"labels": {LABEL: "true"}}}, "")
    assert agg.run().converged
    assert rules_of(agg, "agg") == [rule(["get"], ["configmaps"])]
    assert rules_of(agg, "other") == [rule(["delete"], ["pods"])]


def test_rules_follow_the_selected_roles_by_name_and_selector_without_repeats(agg):
    cluster_role(agg, "agg", selectors=[{"matchLabels": {"second": "true"}},
                                        {"matchExpressions": [{"key": "first", "operator": "Exists"}]}])
    cluster_role(agg, "b", [rule(["get"], ["pods"]), rule(["list"], ["pods"])], labels={"first": "x"})
    cluster_role(agg, "a", [rule(["list"], ["pods"]), rule(["watch"], ["pods"])], labels={"first": "y"})
    cluster_role(agg, "z", [rule(["get"], ["secrets"]), {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                                                        "resourceNames": []}], labels={"second": "true"})
    assert agg.run().converged
    # selector by selector, each one's roles by name; a rule already there (an empty list is a missing one) is skipped
    assert rules_of(agg, "agg") == [
        rule(["get"], ["secrets"]),
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": []},
        rule(["list"], ["pods"]),
        rule(["watch"], ["pods"]),
    ]


def test_the_role_does_not_aggregate_itself_and_follows_changes(agg):
    cluster_role(agg, "agg", [rule(["*"], ["*"])], labels={LABEL: "true"}, selectors=[{"matchLabels": {LABEL: "true"}}])
    cluster_role(agg, "part", [rule(["get"], ["configmaps"])], labels={LABEL: "true"})
    assert agg.run().converged
    assert rules_of(agg, "agg") == [rule(["get"], ["configmaps"])]
    agg.patch("ClusterRole", "part", {"rules": [rule(["get", "list"], ["configmaps"])]}, "")
    assert agg.run().converged
    assert rules_of(agg, "agg") == [rule(["get", "list"], ["configmaps"])]
    agg.delete("ClusterRole", "part", "")
    assert agg.run().converged
    assert rules_of(agg, "agg") == []


def test_aggregation_chains_and_leaves_equal_rules_unwritten(agg):
    cluster_role(agg, "top", selectors=[{"matchLabels": {"to-top": "true"}}])
    cluster_role(agg, "mid", labels={"to-top": "true"}, selectors=[{"matchLabels": {"to-mid": "true"}}])
    cluster_role(agg, "leaf", [rule(["get"], ["pods"])], labels={"to-mid": "true"})
    assert agg.run().converged
    assert rules_of(agg, "top") == rules_of(agg, "mid") == [rule(["get"], ["pods"])]
    # an equal list (a missing field read as an empty one) is not written again
    agg.patch("ClusterRole", "top", {"rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                                               "nonResourceURLs": []}]}, "")
    version = agg.get("ClusterRole", "top", "")["metadata"]["resourceVersion"]
    assert agg.run().converged
    assert agg.get("ClusterRole", "top", "")["metadata"]["resourceVersion"] == version


def test_a_role_without_aggregation_rule_is_left_alone(agg):
    cluster_role(agg, "plain", [rule(["get"], ["pods"])], labels={LABEL: "true"})
    version = agg.get("ClusterRole", "plain", "")["metadata"]["resourceVersion"]
    assert agg.run().converged
    assert agg.get("ClusterRole", "plain", "")["metadata"]["resourceVersion"] == version


def test_a_service_account_bound_to_the_aggregated_role_is_granted_its_rules(agg):
    cluster_role(agg, "agg", selectors=[{"matchLabels": {LABEL: "true"}}])
    cluster_role(agg, "part", [rule(["get"], ["configmaps"])], labels={LABEL: "true"})
    agg.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader", "namespace": "demo"}})
    agg.create({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "reader"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "agg"},
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "demo"}]})
    user = User("system:serviceaccount:demo:reader", ("system:serviceaccounts", "system:authenticated"))
    request = Attributes("get", "", "configmaps", namespace="demo", name="x")
    assert not authorized(agg.store.head, user, request)
    assert agg.run().converged
    assert authorized(agg.store.head, user, request)
    assert not authorized(agg.store.head, user, Attributes("delete", "", "configmaps", namespace="demo", name="x"))
