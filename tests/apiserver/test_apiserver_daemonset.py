"""DaemonSet (apps/v1): served, defaulted, validated and printed as upstream's."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.printers import columns


def daemonset(name="fluentd", **spec_fields) -> dict:
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "fluentd:1"}]}}}
    spec.update(spec_fields)
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def refused(api, body, old=None) -> str:
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, body) if old else api.create(ADMIN, body)
    assert caught.value.code == 422
    return caught.value.message


def test_kubectl_names_resolve_to_the_apps_kind():
    for name in ("ds", "daemonsets", "daemonset", "daemonsets.apps", "ds.apps"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version) == ("apps", "DaemonSet", "apps/v1")
    rt = BUILTIN.resolve("ds")
    assert rt.categories == ("all",) and rt.subresources == frozenset({"status"})


def test_defaults_as_set_defaults_daemonset(api):
    made = api.create(ADMIN, daemonset())
    spec = made["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert spec["revisionHistoryLimit"] == 10
    template = spec["template"]["spec"]
    assert template["restartPolicy"] == "Always" and template["dnsPolicy"] == "ClusterFirst"
    assert template["containers"][0]["terminationMessagePath"] == "/dev/termination-log"
    on_delete = api.create(ADMIN, daemonset("other", updateStrategy={"type": "OnDelete"}))
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_generation_and_template_generation_follow_the_spec_and_the_template(api):
    made = api.create(ADMIN, daemonset())
    assert made["metadata"]["generation"] == 1
    assert made["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "1"
    image = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "fluentd:2"}]}}}}
    changed = api.patch(ADMIN, "apps", "DaemonSet", "default", "fluentd", image)
    assert changed["metadata"]["generation"] == 2
    assert changed["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    other = api.patch(ADMIN, "apps", "DaemonSet", "default", "fluentd", {"spec": {"minReadySeconds": 5}})
    assert other["metadata"]["generation"] == 3
    assert other["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    # the annotation is the server's: a write cannot set it
    forged = api.patch(ADMIN, "apps", "DaemonSet", "default", "fluentd",
                       {"metadata": {"annotations": {"deprecated.daemonset.template.generation": "9"}}})
    assert forged["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    status = api.patch(ADMIN, "apps", "DaemonSet", "default", "fluentd", {"status": {"numberReady": 1}},
                       subresource="status")
    assert status["metadata"]["generation"] == 3


def test_the_selector_must_match_the_template_and_never_changes(api):
    body = daemonset()
    del body["spec"]["selector"]
    assert refused(api, body).endswith(
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"fluentd"}: '
        '`selector` does not match template `labels`')
    assert "empty selector is invalid for daemonset" in refused(api, daemonset(selector={}))
    api.create(ADMIN, daemonset())
    moved = daemonset(selector={"matchLabels": {"app": "fluentd", "tier": "x"}})
    moved["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert "spec.selector: Invalid value" in refused(api, moved, old=True)
    assert "field is immutable" in refused(api, moved, old=True)


def test_template_restart_policy_and_deadline(api):
    body = daemonset()
    body["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert 'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"' in refused(api, body)
    body = daemonset()
    body["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 5
    assert ("spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"
            in refused(api, body))


def test_update_strategy_is_validated_in_upstream_words(api):
    def strategy(**rolling):
        return daemonset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": rolling})

    assert ("spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"
            in refused(api, strategy(maxUnavailable=1, maxSurge=1)))
    assert ("spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"
            in refused(api, strategy(maxUnavailable=0, maxSurge="0%")))
    assert ('spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'
            in refused(api, strategy(maxUnavailable="150%")))
    assert "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: -1" in refused(api, strategy(maxUnavailable=-1))
    assert ('spec.updateStrategy: Unsupported value' in refused(api, daemonset(updateStrategy={"type": "Sometimes"})))
    assert api.create(ADMIN, strategy(maxUnavailable=0, maxSurge="20%"))["spec"]["updateStrategy"]["rollingUpdate"] == {
        "maxUnavailable": 0, "maxSurge": "20%"}


def test_status_counts_may_not_be_negative(api):
    api.create(ADMIN, daemonset())
    with pytest.raises(APIError) as caught:
        api.patch(ADMIN, "apps", "DaemonSet", "default", "fluentd", {"status": {"numberReady": -1}},
                  subresource="status")
    assert "status.numberReady: Invalid value: -1: must be greater than or equal to 0" in caught.value.message


def test_kubectl_get_columns_are_upstream_printers(api):
    body = daemonset()
    body["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    made = api.create(ADMIN, body)
    made = api.patch(ADMIN, "apps", "DaemonSet", "default", "fluentd", {"status": {
        "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 1,
        "numberAvailable": 2, "numberMisscheduled": 0}}, subresource="status")
    cols = columns(BUILTIN.by_kind("apps", "DaemonSet"), wide=True)
    assert [c.name for c in cols] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR",
                                      "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    cells = [c.cell(made, 0.0) for c in cols]
    assert cells[:7] == ["fluentd", 3, 3, 2, 1, 2, "disk=ssd"]
    assert cells[8:] == ["c", "fluentd:1", "app=fluentd"]


def test_a_template_of_the_wrong_type_is_refused_without_a_traceback(api):
    assert 'spec.template: Invalid value: "x": must be of type object' in refused(api, daemonset(template="x"))
    no_selector = daemonset(template="x")
    del no_selector["spec"]["selector"]
    assert 'spec.template: Invalid value: "x": must be of type object' in refused(api, no_selector)
    assert 'spec.template.metadata: Invalid value: "x": must be of type object' in refused(
        api, daemonset(template={"metadata": "x", "spec": {"containers": [{"name": "c", "image": "i"}]}}))
