"""Containers whose ConfigMaps and Secrets are missing are not started, and an image change restarts one."""

from __future__ import annotations

from kubelet_helpers import conditions, node, pod


def config_map(name: str, data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "demo"}, "data": data}


def secret(name: str, data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "demo"}, "data": data}


def events(kc) -> list[tuple[str, str, str, str]]:
    return [(e["type"], e["reason"], e["message"], e["involvedObject"].get("fieldPath", ""))
            for e in sorted(kc.store.head.list("", "Event", "demo"), key=lambda e: e["metadata"]["name"])]


def app_with(**fields) -> list:
    return [{"name": "app", "image": "nginx:1.27", **fields}]


def waiting(p) -> dict:
    return p["status"]["containerStatuses"][0]["state"]["waiting"]


def test_a_container_reading_a_missing_config_map_waits_in_create_container_config_error(kc):
    kc.create(node("node-1"))
    env = [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}}]
    kc.create(pod("web", containers=app_with(env=env)))
    kc.run()
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Pending"
    assert waiting(p) == {"reason": "CreateContainerConfigError", "message": 'configmap "settings" not found'}
    assert "startTime" not in p["status"] and "podIP" not in p["status"]
    assert conditions(p)["Ready"]["reason"] == "ContainersNotReady"
    assert ("Warning", "Failed", 'Error: configmap "settings" not found', "spec.containers{app}") in events(kc)

    kc.create(config_map("settings", {"other": "x"}))
    kc.run()
    assert waiting(kc.get("Pod", "web")) == {"reason": "CreateContainerConfigError",
                                             "message": "couldn't find key mode in ConfigMap demo/settings"}

    kc.api.patch(kc.admin, "", "ConfigMap", "demo", "settings", {"data": {"mode": "fast"}})
    kc.run()
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Running" and p["status"]["podIP"] == "10.244.0.2"
    assert "running" in p["status"]["containerStatuses"][0]["state"]
    assert ("Normal", "Started", "Started container app", "spec.containers{app}") in events(kc)


def test_env_from_a_missing_secret_blocks_the_container_and_optional_references_do_not(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", containers=app_with(envFrom=[{"secretRef": {"name": "creds"}}])))
    optional = [{"configMapRef": {"name": "nope", "optional": True}}]
    env = [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}}]
    kc.create(pod("relaxed", containers=app_with(envFrom=optional, env=env)))
    kc.run()
    assert waiting(kc.get("Pod", "web")) == {"reason": "CreateContainerConfigError",
                                             "message": 'secret "creds" not found'}
    assert kc.get("Pod", "relaxed")["status"]["phase"] == "Running"

    kc.create(secret("creds", {"user": "YWRtaW4="}))
    kc.run()
    assert kc.get("Pod", "web")["status"]["phase"] == "Running"


def test_a_volume_from_a_missing_config_map_keeps_the_pod_container_creating_with_failed_mount(kc):
    kc.create(node("node-1"))
    web = pod("web")
    web["spec"]["volumes"] = [{"name": "conf", "configMap": {"name": "nginx-conf"}}]
    kc.create(web)
    kc.run()
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Pending"
    assert waiting(p) == {"reason": "ContainerCreating"}
    assert conditions(p)["PodReadyToStartContainers"]["status"] == "False"
    assert ("Warning", "FailedMount",
            'MountVolume.SetUp failed for volume "conf" : configmap "nginx-conf" not found', "") in events(kc)

    kc.create(config_map("nginx-conf", {"nginx.conf": ""}))
    kc.run()
    assert kc.get("Pod", "web")["status"]["phase"] == "Running"


def claim(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "storageClassName": "manual"}}


def test_a_pod_whose_claims_are_not_bound_waits_in_container_creating_and_says_so_after_the_mount_timeout(kc):
    kc.create(node("node-1"))
    kc.create(claim("data"))  # (no PersistentVolume controller here: it stays Pending until bound below)
    web = pod("web")
    web["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                              {"name": "logs", "persistentVolumeClaim": {"claimName": "logs"}}]
    kc.create(web)
    kc.run(60)
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Pending" and "startTime" not in p["status"]
    assert waiting(p) == {"reason": "ContainerCreating"}
    assert conditions(p)["PodReadyToStartContainers"]["status"] == "False"
    assert [e for e in events(kc) if e[1] == "FailedMount"] == []  # (the volume manager's 2m3s are not up)
    kc.run(600)
    assert ("Warning", "FailedMount", "Unable to attach or mount volumes: unmounted volumes=[data logs], "
            "unattached volumes=[], failed to process volumes=[data logs]: context deadline exceeded", "") in events(kc)
    assert kc.get("Pod", "web")["status"]["phase"] == "Pending"

    kc.create(claim("logs"))
    for name in ("data", "logs"):  # bound, as the PersistentVolume controller would bind them
        bound = {**kc.get("PersistentVolumeClaim", name)}
        kc.api.update(kc.admin, {**bound, "spec": {**bound["spec"], "volumeName": f"pv-{name}"}})
        bound = kc.get("PersistentVolumeClaim", name)
        kc.api.update(kc.admin, {**bound, "status": {"phase": "Bound"}}, subresource="status")
    kc.run()
    assert kc.get("Pod", "web")["status"]["phase"] == "Running"
