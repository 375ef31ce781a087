"""StatefulSet (apps/v1) and PersistentVolumeClaim (v1): served, defaulted and validated as upstream."""

from __future__ import annotations

import copy

from apiserver_fixtures import ADMIN, refused

from engine.kinds import BUILTIN
from engine.printers import columns


def statefulset(name: str = "web", **spec) -> dict:
    body = {
        "serviceName": name,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
        **spec,
    }
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": "default"},
            "spec": body}


def claim(name: str = "data", **spec) -> dict:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
            "spec": body}


def test_kubectl_names_resolve_to_the_apps_kind_in_category_all():
    for name in ("sts", "statefulsets", "statefulsets.apps", "statefulset"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind) == ("apps", "StatefulSet")
    rt = BUILTIN.resolve("sts")
    assert rt.categories == ("all",) and rt.subresources == {"status", "scale"}
    assert BUILTIN.resolve("pvc").kind == "PersistentVolumeClaim"


def test_defaults_are_upstreams(api):
    template = {"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    spec = api.create(ADMIN, statefulset(volumeClaimTemplates=[template]))["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    [made] = spec["volumeClaimTemplates"]
    assert (made["apiVersion"], made["kind"], made["spec"]["volumeMode"], made["status"]) == (
        "v1", "PersistentVolumeClaim", "Filesystem", {"phase": "Pending"})
    on_delete = api.create(ADMIN, statefulset("db", updateStrategy={"type": "OnDelete"}))["spec"]
    assert on_delete["updateStrategy"] == {"type": "OnDelete"}


def test_the_selector_is_required_and_must_match_the_template(api):
    body = statefulset()
    del body["spec"]["selector"]
    assert "spec.selector: Required value" in refused(api, body)
    body = statefulset()
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    assert "spec.template.metadata.labels: Invalid value" in refused(api, body)
    assert "`selector` does not match template `labels`" in refused(api, body)


def test_policies_and_counts_are_checked_in_upstreams_words(api):
    assert "spec.podManagementPolicy: Invalid value: \"Sometimes\": must be 'OrderedReady' or 'Parallel'" in refused(
        api, statefulset(podManagementPolicy="Sometimes"))
    assert "spec.updateStrategy.rollingUpdate: Invalid value" in refused(
        api, statefulset(updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}}))
    assert "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0" in refused(
        api, statefulset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}))
    assert "spec.replicas: Invalid value: -1" in refused(api, statefulset(replicas=-1))
    assert "spec.ordinals.start: Invalid value: -2" in refused(api, statefulset(ordinals={"start": -2}))
    assert 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep"' in refused(
        api, statefulset(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep"}))


def test_only_upstreams_mutable_fields_may_change_and_a_spec_change_bumps_the_generation(api):
    made = api.create(ADMIN, statefulset(replicas=2))
    assert made["metadata"]["generation"] == 1
    body = copy.deepcopy(statefulset(replicas=3, minReadySeconds=5, ordinals={"start": 1}, revisionHistoryLimit=2,
                                     updateStrategy={"type": "OnDelete"}))
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert api.update(ADMIN, body)["metadata"]["generation"] == 2
    body["spec"]["serviceName"] = "other"
    message = refused(api, body, update=True)
    assert ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
            "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
            "are forbidden") in message


def test_the_scale_subresource_reads_and_writes_replicas(api):
    api.create(ADMIN, statefulset(replicas=2))
    scale = api.get(ADMIN, "apps", "StatefulSet", "default", "web", subresource="scale")
    assert scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=web"
    api.patch(ADMIN, "apps", "StatefulSet", "default", "web", {"spec": {"replicas": 5}}, subresource="scale")
    stored = api.get(ADMIN, "apps", "StatefulSet", "default", "web")
    assert stored["spec"]["replicas"] == 5 and stored["metadata"]["generation"] == 2


def test_kubectl_get_prints_ready_and_age_and_wide_containers_and_images(api):
    made = api.create(ADMIN, statefulset(replicas=3))
    assert [c.name for c in columns(BUILTIN.by_kind("apps", "StatefulSet"))] == ["NAME", "READY", "AGE"]
    cols = columns(BUILTIN.by_kind("apps", "StatefulSet"), wide=True)
    assert [c.name for c in cols] == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert [cols[i].cell(made, 0.0) for i in (0, 1, 3, 4)] == ["web", "0/3", "app", "nginx:1.25"]


def test_a_claim_needs_access_modes_and_a_storage_request(api):
    assert "spec.accessModes: Required value: at least 1 access mode is required" in refused(api, claim(accessModes=[]))
    assert "spec.resources.requests[storage]: Required value" in refused(api, claim(resources={"requests": {}}))
    assert 'spec.accessModes: Unsupported value: "ReadWriteSome"' in refused(api, claim(accessModes=["ReadWriteSome"]))
    made = api.create(ADMIN, claim())
    assert made["spec"]["volumeMode"] == "Filesystem" and made["status"] == {"phase": "Pending"}
    assert "spec: Forbidden: spec is immutable after creation" in refused(
        api, claim(accessModes=["ReadWriteMany"]), update=True)


def test_fields_of_the_wrong_type_are_refused_without_a_traceback(api):
    assert "spec.volumeClaimTemplates[0]: Invalid value: \"x\": must be of type object" in refused(
        api, statefulset(volumeClaimTemplates=["x"]))
    assert refused(api, statefulset(updateStrategy="x")).endswith(
        'spec.updateStrategy: Invalid value: "x": must be of type object')
    assert "spec.ordinals.start: Invalid value: \"a\": must be of type integer" in refused(
        api, statefulset(ordinals={"start": "a"}))
    assert 'spec.template.metadata: Invalid value: "x": must be of type object' in refused(
        api, statefulset(template={"metadata": "x", "spec": {"containers": [{"name": "c", "image": "i"}]}}))
