"""OpenAPI v3 with real schemas: `kubectl explain` for built-in kinds and a CRD kind."""

from __future__ import annotations

import json

from http_live import Live

from engine.api import discovery
from engine.kinds import BUILTIN


def test_the_apps_document_holds_the_deployment_schema_and_everything_it_refers_to():
    doc = discovery.openapi_group_version(BUILTIN, "apps", "v1")
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert "io.k8s.api.autoscaling.v1.Scale" in schemas  # the scale subresource's kind
    referred = {name for schema in schemas.values() for name in discovery.refs_of(schema)}
    assert referred <= set(schemas)
    assert {"io.k8s.api.core.v1.PodSpec", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString"} <= referred


def test_the_schemas_keep_required_fields_descriptions_and_merge_keys():
    schemas = discovery.builtin_schemas()
    pod_spec = schemas["io.k8s.api.core.v1.PodSpec"]
    assert pod_spec["required"] == ["containers"]
    containers = pod_spec["properties"]["containers"]
    assert containers["description"].startswith("List of containers belonging to the pod.")
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["items"] == {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}],
                                   "default": {}}
    ports = schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"]
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]


def test_a_crd_kind_is_published_with_its_openapi_v3_schema(live: Live):
    token = live.kubeconfig.read_text().split("token: ", 1)[1].split()[0]
    code, _, text = live.request("GET", "/openapi/v3", token=token)
    assert code == 200
    url = json.loads(text)["paths"]["apis/example.com/v1"]["serverRelativeURL"]
    code, _, text = live.request("GET", url, token=token)
    schemas = json.loads(text)["components"]["schemas"]
    webapp = schemas["com.example.v1.WebApp"]
    assert webapp["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "WebApp", "version": "v1"}]
    assert webapp["properties"]["spec"]["required"] == ["image"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas


def test_kubectl_explain_shows_a_fields_description_and_its_fields(live: Live):
    out = live.kubectl("explain", "pod.spec.containers").stdout
    assert "FIELD: containers <[]Container>" in out
    assert "List of containers belonging to the pod." in out
    assert "image\t<string>" in out and "ports\t<[]ContainerPort>" in out


def test_kubectl_explain_recursive_walks_the_nested_types(live: Live):
    out = live.kubectl("explain", "deployment.spec", "--recursive").stdout
    lines = out.splitlines()
    assert "KIND:       Deployment" in lines and "GROUP:      apps" in lines
    assert "  selector\t<LabelSelector> -required-" in lines
    assert "  template\t<PodTemplateSpec> -required-" in lines
    assert any(line.strip().startswith("containers\t<[]Container> -required-") for line in lines)


def test_kubectl_explain_a_custom_resource_reads_its_crd_schema(live: Live):
    out = live.kubectl("explain", "webapp.spec").stdout
    assert "KIND:       WebApp" in out and "GROUP:      example.com" in out
    assert "image\t<string> -required-" in out and "replicas\t<integer>" in out


def test_int_or_string_and_quantity_are_typeless_unions_as_upstream_publishes_them():
    schemas = discovery.builtin_schemas()
    int_or_string = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    quantity = schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]
    assert (int_or_string["format"], int_or_string["oneOf"]) == ("int-or-string", [{"type": "integer"},
                                                                                   {"type": "string"}])
    assert quantity["oneOf"] == [{"type": "string"}, {"type": "number"}]
    assert "type" not in int_or_string and "type" not in quantity
    assert int_or_string["description"].startswith("IntOrString is a type that can hold an int32 or a string.")
    assert quantity["description"].startswith("Quantity is a fixed-point representation of a number.")


def test_kubectl_explain_names_int_or_string_fields(live: Live):
    lines = live.kubectl("explain", "deploy.spec.strategy", "--recursive").stdout.splitlines()
    assert "    maxSurge\t<IntOrString>" in lines and "    maxUnavailable\t<IntOrString>" in lines
    out = live.kubectl("explain", "svc.spec.ports.targetPort").stdout
    assert "FIELD: targetPort <IntOrString>" in out.splitlines()
    description = " ".join(out.split("DESCRIPTION:", 1)[1].split())
    assert description.startswith("Number or name of the port to access on the pods targeted by the service.")
    assert description.endswith("This allows you to have, for example, a JSON field that can accept a name or "
                                "number.")  # (the type's own description follows the field's, as upstream)


def test_kubectl_explain_names_quantity_maps(live: Live):
    out = live.kubectl("explain", "pod.spec.containers.resources.limits").stdout
    assert "FIELD: limits <map[string]Quantity>" in out.splitlines()
    assert "Quantity is a fixed-point representation of a number." in out
    fields = live.kubectl("explain", "pod.spec.containers.resources").stdout.splitlines()
    assert "  limits\t<map[string]Quantity>" in fields and "  requests\t<map[string]Quantity>" in fields
    volume = live.kubectl("explain", "pod.spec.volumes.emptyDir.sizeLimit").stdout
    assert "FIELD: sizeLimit <Quantity>" in volume.splitlines()
