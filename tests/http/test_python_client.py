"""The official Kubernetes Python client against a live recon: typed API, watch, scale, DynamicClient."""

from __future__ import annotations

import pytest
from http_live import Live
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def api(live: Live) -> client.ApiClient:
    """An ApiClient configured from the kubeconfig recon wrote."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(live.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        yield api_client


def _deployment(name: str, replicas: int = 2) -> client.V1Deployment:
    labels = {"app": name}
    container = client.V1Container(name="web", image="nginx:1.27",
                                   ports=[client.V1ContainerPort(container_port=80)])
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, namespace="demo"),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                              spec=client.V1PodSpec(containers=[container]))))


def test_the_typed_api_lists_the_example_pods(api):
    pods = client.CoreV1Api(api).list_namespaced_pod("demo", label_selector="app=web")
    assert len(pods.items) == 3
    assert all(p.metadata.name.startswith("web-") for p in pods.items)
    assert int(pods.metadata.resource_version) > 0


def test_a_deployment_created_through_the_typed_api_reads_back_with_its_defaults(api):
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment("demo", _deployment("typed"))
    assert created.metadata.uid and created.spec.replicas == 2
    read = apps.read_namespaced_deployment("typed", "demo")
    assert read.metadata.uid == created.metadata.uid
    assert read.spec.template.spec.containers[0].ports[0].container_port == 80
    assert read.spec.strategy.type == "RollingUpdate"  # defaulted by the server


def test_a_watch_sees_the_pods_of_a_new_deployment_appear(api):
    client.AppsV1Api(api).create_namespaced_deployment("demo", _deployment("watched"))
    seen: set[str] = set()
    stream = watch.Watch()
    for event in stream.stream(client.CoreV1Api(api).list_namespaced_pod, "demo", label_selector="app=watched",
                               timeout_seconds=20):
        assert event["type"] in ("ADDED", "MODIFIED")
        seen.add(event["object"].metadata.name)
        if len(seen) == 2:
            stream.stop()
    assert len(seen) == 2 and all(name.startswith("watched-") for name in seen)


def test_the_scale_subresource_patches_the_replicas(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("demo", _deployment("scaled", replicas=1))
    scale = apps.patch_namespaced_deployment_scale("scaled", "demo", {"spec": {"replicas": 4}})
    assert scale.kind == "Scale" and scale.spec.replicas == 4
    assert apps.read_namespaced_deployment("scaled", "demo").spec.replicas == 4


def test_a_missing_object_is_an_api_exception_with_404(api):
    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).read_namespaced_deployment("absent", "demo")
    assert caught.value.status == 404
    assert '"reason":"NotFound"' in caught.value.body.replace(" ", "")


def test_the_dynamic_client_lists_gets_creates_and_deletes_deployments(api):
    deployments = dynamic.DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
    assert "web" in [d.metadata.name for d in deployments.get(namespace="demo").items]
    assert deployments.get(name="web", namespace="demo").spec.replicas == 3
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dynamic", "namespace": "demo"},
            "spec": {"selector": {"matchLabels": {"app": "dynamic"}},
                     "template": {"metadata": {"labels": {"app": "dynamic"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    created = deployments.create(body=body)
    assert created.metadata.name == "dynamic" and created.spec.replicas == 1
    status = deployments.delete(name="dynamic", namespace="demo")
    assert status.status == "Success" and status.details.name == "dynamic"
    with pytest.raises(dynamic.exceptions.NotFoundError):
        deployments.get(name="dynamic", namespace="demo")


def test_the_dynamic_client_serves_the_webapp_custom_resource(api):
    webapps = dynamic.DynamicClient(api).resources.get(api_version="example.com/v1", kind="WebApp")
    assert webapps.namespaced and webapps.name == "webapps"
    assert "hello" in [w.metadata.name for w in webapps.get(namespace="demo").items]
    body = {"apiVersion": "example.com/v1", "kind": "WebApp", "metadata": {"name": "py-web", "namespace": "demo"},
            "spec": {"image": "nginx:1.27", "replicas": 1}}
    assert webapps.create(body=body).spec.image == "nginx:1.27"
    webapps.patch(name="py-web", namespace="demo", body={"spec": {"replicas": 2}},
                  content_type="application/merge-patch+json")
    assert webapps.get(name="py-web", namespace="demo").spec.replicas == 2
    assert webapps.delete(name="py-web", namespace="demo").status == "Success"
