"""At every start the API server brings the stored default RBAC objects back up to the defaults, as
upstream's rbac/bootstrap-roles post-start hook (EnsureRBACPolicy) reconciles them: what was taken
away (rules, aggregationRule selectors, subjects, labels, annotations) comes back, what a user added
stays; a binding whose roleRef differs is created again as the default; an object annotated
autoupdate "false" is left as the user made it; a start with nothing to do writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from apiserver_fixtures import ADMIN

from engine import rbac_policy
from engine.apiserver import SYSTEM, APIServer
from engine.cluster import Cluster
from engine.objects import thaw
from engine.rbac_rules import breakdown, uncovered
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.wal import open_store

RBAC = "rbac.authorization.k8s.io"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
WIDGETS = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}
ANN = {"apiGroup": RBAC, "kind": "User", "name": "ann"}


def restart(api: APIServer) -> APIServer:
    """What the next start does: a new API server on the same store, bootstrapped."""
    api = APIServer(api.store, api.clock)
    api.bootstrap()
    return api


def stored(api: APIServer, kind: str, name: str) -> dict:
    return thaw(api.head.get((RBAC, kind, "", name)))


def default(kind: str, name: str) -> dict:
    objects = rbac_policy.CLUSTER_ROLES if kind == "ClusterRole" else rbac_policy.CLUSTER_ROLE_BINDINGS
    return next(o for o in objects if o["metadata"]["name"] == name)


def edit(api: APIServer, kind: str, name: str, change) -> dict:
    """Update the stored object as `change(obj)` leaves it."""
    obj = stored(api, kind, name)
    change(obj)
    return api.update(ADMIN, obj)


def test_a_default_role_gets_back_the_rules_taken_from_it_and_keeps_those_a_user_added(api):
    taken = rbac_policy.VIEW_RULES[1]  # namespaces and namespaces/status

    def change(role):
        role["rules"] = [r for r in role["rules"] if r != taken] + [WIDGETS]
    edit(api, "ClusterRole", "system:aggregate-to-view", change)
    rules = restart(api).head.get((RBAC, "ClusterRole", "", "system:aggregate-to-view"))["rules"]
    assert uncovered(rules, rbac_policy.VIEW_RULES) == []
    # (appended as upstream's Covers leaves them: one verb, group and resource each)
    assert thaw(rules) == [r for r in rbac_policy.VIEW_RULES if r != taken] + [WIDGETS] + breakdown(taken)


def test_only_the_rules_a_role_does_not_cover_are_added_back(api):
    everything = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}
    edit(api, "ClusterRole", "system:aggregate-to-view", lambda role: role.update(rules=[everything]))
    revision = api.head.revision
    assert stored(restart(api), "ClusterRole", "system:aggregate-to-view")["rules"] == [everything]
    assert api.head.revision == revision


def test_an_aggregated_default_role_gets_back_its_selectors_and_leaves_its_rules_to_the_controller(api, tmp_path):
    # (upstream's admin, edit and view carry no rules of their own: the bootstrap never adds any)
    def change(role):
        del role["aggregationRule"]
        role["rules"] = [WIDGETS]
    edit(api, "ClusterRole", "view", change)
    api = restart(api)
    view = stored(api, "ClusterRole", "view")
    assert view["aggregationRule"] == default("ClusterRole", "view")["aggregationRule"]
    assert view["rules"] == [WIDGETS]
    revision = api.head.revision
    assert restart(api).head.revision == revision
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES_DIR / "clusterrole-aggregation.rules", tmp_path / "rules")
    assert Engine(api, load_rules(tmp_path / "rules"), api.clock).run(until=api.clock.now() + 60).converged
    assert stored(api, "ClusterRole", "view")["rules"] == rbac_policy.VIEW_RULES


def test_an_aggregation_rule_the_default_lacks_is_taken_away_and_the_rules_kept(api):
    selector = {"clusterRoleSelectors": [{"matchLabels": {"example.com/basic": "true"}}]}
    edit(api, "ClusterRole", "system:basic-user",
         lambda role: role.update(aggregationRule=selector, rules=role["rules"] + [WIDGETS]))
    role = stored(restart(api), "ClusterRole", "system:basic-user")
    assert "aggregationRule" not in role
    assert role["rules"] == rbac_policy.BASIC_USER_RULES + [WIDGETS]


def test_labels_and_annotations_taken_away_are_put_back_and_the_values_a_user_set_kept(api):
    def change(role):
        meta = role["metadata"]
        meta["labels"] = {"kubernetes.io/bootstrapping": "mine", "team": "a"}
        meta["annotations"] = {"note": "x"}
    edit(api, "ClusterRole", "view", change)
    meta = stored(restart(api), "ClusterRole", "view")["metadata"]
    assert meta["labels"] == {"kubernetes.io/bootstrapping": "mine", "team": "a", f"{RBAC}/aggregate-to-edit": "true"}
    assert meta["annotations"] == {"note": "x", AUTOUPDATE: "true"}


def protected(**fields):
    """A change that annotates autoupdate "false", takes a label away and sets `fields`."""
    def change(obj):
        obj["metadata"]["annotations"][AUTOUPDATE] = "false"
        del obj["metadata"]["labels"]["kubernetes.io/bootstrapping"]
        obj.update(fields)
    return change


def test_a_default_object_annotated_autoupdate_false_is_left_as_the_user_made_it(api):
    edit(api, "ClusterRole", "system:basic-user", protected(rules=[WIDGETS]))
    edit(api, "ClusterRoleBinding", "system:public-info-viewer", protected(subjects=[ANN]))
    api.delete(ADMIN, RBAC, "ClusterRoleBinding", None, "system:discovery")
    api.create(ADMIN, {**default("ClusterRoleBinding", "system:discovery"),
                       "metadata": {"name": "system:discovery", "annotations": {AUTOUPDATE: "false"}},
                       "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"}})
    before = {name: stored(api, kind, name) for kind, name in [
        ("ClusterRole", "system:basic-user"), ("ClusterRoleBinding", "system:public-info-viewer"),
        ("ClusterRoleBinding", "system:discovery")]}
    revision = api.head.revision
    api = restart(api)
    assert api.head.revision == revision
    assert before["system:basic-user"]["rules"] == [WIDGETS]
    assert {name: stored(api, obj["kind"], name) for name, obj in before.items()} == before


def test_a_binding_gets_back_a_subject_taken_from_it_and_keeps_one_a_user_added(api):
    edit(api, "ClusterRoleBinding", "system:public-info-viewer", lambda b: b.update(subjects=[b["subjects"][0], ANN]))
    binding = stored(restart(api), "ClusterRoleBinding", "system:public-info-viewer")
    authenticated, unauthenticated = default("ClusterRoleBinding", "system:public-info-viewer")["subjects"]
    assert binding["subjects"] == [authenticated, ANN, unauthenticated]


def test_a_subject_written_without_its_api_group_is_the_defaults_subject(api):
    masters = {"kind": "Group", "name": "system:masters"}  # (upstream defaults its apiGroup)
    edit(api, "ClusterRoleBinding", "cluster-admin", lambda b: b.update(subjects=[masters]))
    revision = api.head.revision
    assert restart(api).head.revision == revision


def test_a_binding_whose_role_ref_differs_is_created_again_as_the_default(api):
    api.delete(ADMIN, RBAC, "ClusterRoleBinding", None, "cluster-admin")
    mine = api.create(ADMIN, {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
                              "metadata": {"name": "cluster-admin", "labels": {"team": "a"}},
                              "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
                              "subjects": [ANN, *default("ClusterRoleBinding", "cluster-admin")["subjects"]]})
    binding = stored(restart(api), "ClusterRoleBinding", "cluster-admin")
    assert binding["metadata"]["uid"] != mine["metadata"]["uid"]
    assert {k: binding[k] for k in ("roleRef", "subjects")} == {
        k: default("ClusterRoleBinding", "cluster-admin")[k] for k in ("roleRef", "subjects")}
    assert binding["metadata"]["labels"] == rbac_policy.BOOTSTRAPPING  # (nothing of the user's is kept)


def test_a_binding_to_recreate_that_a_finalizer_keeps_is_created_at_a_later_start_once_gone(api):
    api.delete(ADMIN, RBAC, "ClusterRoleBinding", None, "cluster-admin")
    api.create(ADMIN, {**default("ClusterRoleBinding", "cluster-admin"),
                       "metadata": {"name": "cluster-admin", "finalizers": ["example.com/keep"]},
                       "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"}})
    api = restart(api)
    assert stored(api, "ClusterRoleBinding", "cluster-admin")["metadata"]["deletionTimestamp"]
    revision = api.head.revision
    api = restart(api)
    assert api.head.revision == revision
    edit(api, "ClusterRoleBinding", "cluster-admin", lambda b: b["metadata"].update(finalizers=[]))
    assert api.head.get((RBAC, "ClusterRoleBinding", "", "cluster-admin")) is None
    assert stored(restart(api), "ClusterRoleBinding", "cluster-admin")["roleRef"]["name"] == "cluster-admin"


def test_the_writes_are_the_bootstraps_one_commit_by_the_api_server(api):
    edit(api, "ClusterRole", "system:discovery", lambda role: role.update(rules=[]))
    edit(api, "ClusterRoleBinding", "system:discovery", lambda b: b.update(subjects=[ANN]))
    records = []
    api.store.listeners.append(lambda _snap, _events, record: records.append(record))
    restart(api)
    assert [(r.actor, r.cause) for r in records] == [(SYSTEM.name, ("bootstrap",))]
    assert [op.key[1:] for op in records[0].ops] == [("ClusterRole", "", "system:discovery"),
                                                    ("ClusterRoleBinding", "", "system:discovery")]


def test_a_start_with_nothing_changed_writes_no_revision(api):
    revision = api.head.revision
    assert restart(api).head.revision == revision
    edit(api, "ClusterRole", "edit", lambda role: role["metadata"]["labels"].clear())
    api = restart(api)
    revision = api.head.revision
    assert restart(api).head.revision == revision


def test_a_state_folder_opened_again_with_nothing_changed_writes_no_revision(tmp_path):
    store = open_store(tmp_path / "state")
    Cluster(store, None, simulated=True)
    revision = store.revision
    store.close()
    store = open_store(tmp_path / "state")
    Cluster(store, None, simulated=True)
    assert store.revision == revision
    store.close()
