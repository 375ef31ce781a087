"""Validation messages, worded as kube-apiserver words them."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, pod

from engine.apiserver import APIError

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
             r"validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def refusal(api, body) -> APIError:
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    return caught.value


def test_pod_without_an_image_is_invalid_with_upstream_wording(api):
    body = pod("x")
    del body["spec"]["containers"][0]["image"]
    error = refusal(api, body)
    assert error.message == 'Pod "x" is invalid: spec.containers[0].image: Required value'
    assert (error.code, error.reason) == (422, "Invalid")
    status = error.status()
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["code"] == 422
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}]


def test_bad_name_names_the_rule_and_its_regex(api):
    error = refusal(api, pod("Web_1"))
    assert error.message == f'Pod "Web_1" is invalid: metadata.name: Invalid value: "Web_1": {SUBDOMAIN}'


def test_service_names_are_dns_1035_labels(api):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}
    assert refusal(api, body).message == f'Service "1web" is invalid: metadata.name: Invalid value: "1web": {DNS1035}'


@pytest.mark.parametrize("kind", ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"])
def test_rbac_names_are_path_segments(api, kind):
    """ValidateRBACName: `system:` names and capitals are fine; what would break the URL path is not."""
    rbac = "rbac.authorization.k8s.io"
    namespaced = kind in ("Role", "RoleBinding")

    def body(name: str) -> dict:
        meta = {"name": name, **({"namespace": "default"} if namespaced else {})}
        obj = {"apiVersion": f"{rbac}/v1", "kind": kind, "metadata": meta}
        if kind.endswith("Binding"):
            obj["roleRef"] = {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"}
        return obj
    assert api.create(ADMIN, body("system:Team_Readers"))["metadata"]["name"] == "system:Team_Readers"
    assert refusal(api, body("a/b")).message == (
        f'{kind}.{rbac} "a/b" is invalid: metadata.name: Invalid value: "a/b": may not contain \'/\'')
    assert "may not be '..'" in refusal(api, body("..")).message


def test_rbac_bindings_default_their_api_groups_and_check_roleref_and_subjects_as_upstream(api):
    rbac = "rbac.authorization.k8s.io"

    def crb(ref: dict, *subjects: dict) -> dict:
        return {"apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                "roleRef": ref, "subjects": list(subjects)}
    made = api.create(ADMIN, crb({"kind": "ClusterRole", "name": "view"}, {"kind": "User", "name": "ann"},
                                 {"kind": "Group", "name": "devs"},
                                 {"kind": "ServiceAccount", "name": "bot", "namespace": "default"}))
    assert made["roleRef"] == {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"}  # (SetDefaults_*)
    assert [s.get("apiGroup") for s in made["subjects"]] == [rbac, rbac, None]  # (a ServiceAccount's: "", omitted)
    view = {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"}
    causes = refusal(api, crb({**view, "apiGroup": "example.com", "name": "a/b"},
                              {"kind": "ServiceAccount", "name": "Bot", "apiGroup": rbac},
                              {"kind": "User", "name": "ann", "apiGroup": "example.com"},
                              {"kind": "Robot", "name": "r2"})).status()["details"]["causes"]
    assert [(c["field"], c["message"]) for c in causes] == [
        ("roleRef.apiGroup", 'Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"'),
        ("roleRef.name", "Invalid value: \"a/b\": may not contain '/'"),
        ("subjects[0].name", f'Invalid value: "Bot": {SUBDOMAIN}'),
        ("subjects[0].apiGroup", 'Unsupported value: "rbac.authorization.k8s.io": supported values: ""'),
        ("subjects[0].namespace", "Required value"),
        ("subjects[1].apiGroup", 'Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"'),
        ("subjects[2].kind", 'Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"')]
    # in a RoleBinding a ServiceAccount subject's namespace is the binding's
    assert api.create(ADMIN, {**crb(view, {"kind": "ServiceAccount", "name": "bot"}), "kind": "RoleBinding",
                              "metadata": {"name": "b", "namespace": "default"}})["subjects"][0]["name"] == "bot"


def test_a_rule_naming_resources_by_name_names_one_resource(api):
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "resourceNames": ["x"], "verbs": ["get"]}]}
    assert refusal(api, role).message == ('ClusterRole.rbac.authorization.k8s.io "r" is invalid: rules[0].resourceNames: '
                                          "Required value: resource names cannot apply to multiple resources")


def test_namespace_names_are_dns_1123_labels(api):
    error = refusal(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}})
    assert "a lowercase RFC 1123 label must consist of" in error.message


def test_several_errors_are_joined_in_brackets(api):
    body = pod("x")
    body["spec"]["containers"] = [{"name": "a"}, {"name": "a", "image": "i", "ports": [{"containerPort": 70000}]}]
    assert refusal(api, body).message == (
        'Pod "x" is invalid: [spec.containers[0].image: Required value, '
        'spec.containers[1].name: Duplicate value: "a", '
        "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive]")


def test_deployment_selector_must_match_template_labels(api):
    body = deployment("web")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert refusal(api, body).message == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`')


def test_a_deployment_without_a_selector_is_told_so_and_that_its_template_is_not_selected(api):
    body = deployment("web")
    del body["spec"]["selector"]
    labels = body["spec"]["template"]["metadata"]["labels"]
    shown = ",".join(f'"{k}":"{v}"' for k, v in labels.items())
    assert refusal(api, body).message == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: '
        f'Invalid value: map[string]string{{{shown}}}: `selector` does not match template `labels`]')


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("selector"), "spec.selector: Required value"),
    (lambda s: s.update(replicas=-1), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    (lambda s: s.update(replicas="3"), 'spec.replicas: Invalid value: "3": must be of type integer'),
    (lambda s: s["template"]["spec"].update(restartPolicy="Never"),
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    (lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"),
])
def test_deployment_spec_errors(api, change, message):
    body = deployment("web")
    change(body["spec"])
    assert message in refusal(api, body).message


LABEL_KEY = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
               "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
               "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def test_selector_expression_errors_have_upstreams_types_and_quotes(api):
    body = deployment("web")
    body["spec"]["selector"] = {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In"},
        {"key": "track", "operator": "Exists", "values": ["x"]},
        {"key": "size", "operator": "Gt", "values": ["1"]},
        {"key": "-zone", "operator": "NotIn", "values": ["-a"]},
    ]}
    error = refusal(api, body)
    path = "spec.selector.matchExpressions"
    assert [(c["reason"], c["field"], c["message"]) for c in error.status()["details"]["causes"]] == [
        ("FieldValueRequired", f"{path}[0].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
        ("FieldValueForbidden", f"{path}[1].values",
         "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        ("FieldValueInvalid", f"{path}[2].operator", 'Invalid value: "Gt": not a valid selector operator'),
        ("FieldValueInvalid", f"{path}[3].key", f'Invalid value: "-zone": {LABEL_KEY}'),
        ("FieldValueInvalid", f"{path}[3].values[0]", f'Invalid value: "-a": {LABEL_VALUE}'),
    ]
    assert error.message.startswith(
        'Deployment.apps "web" is invalid: [spec.selector.matchExpressions[0].values: Required value: must be '
        "specified when `operator` is 'In' or 'NotIn', spec.selector.matchExpressions[1].values: Forbidden: ")


def test_selector_match_labels_errors_quote_the_bad_key_and_value(api):
    body = deployment("web")
    body["spec"]["selector"] = {"matchLabels": {"-app": "web", "tier": "a b"}}
    causes = refusal(api, body).status()["details"]["causes"]
    found = [(c["reason"], c["field"], c["message"]) for c in causes if c["field"] == "spec.selector.matchLabels"]
    assert found == [  # (in the keys' order: the same at every run, where upstream's is a Go map's)
        ("FieldValueInvalid", "spec.selector.matchLabels", f'Invalid value: "-app": {LABEL_KEY}'),
        ("FieldValueInvalid", "spec.selector.matchLabels", f'Invalid value: "a b": {LABEL_VALUE}'),
    ]


@pytest.mark.parametrize("selector, message", [
    ("app=-web", f'unable to parse requirement: values[0][app]: Invalid value: "-web": {LABEL_VALUE}'),
    ("-app=web", f'unable to parse requirement: <nil>: Invalid value: "-app": {LABEL_KEY}'),
    ("size>big", "unable to parse requirement: values[0]: Invalid value: \"big\": for 'Gt', 'Lt' operators, "
                 "the value must be an integer"),
    ("app web", "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"),
    ("app in (web", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("app=web,", "found '', expected: identifier after ','"),
])
def test_a_bad_label_selector_query_is_a_bad_request_with_labels_parse_message(api, selector, message):
    """kubectl get -l sends the selector as is; the 400's message is labels.Parse's error, nothing added."""
    with pytest.raises(APIError) as caught:
        api.list(ADMIN, "", "Pod", "default", selector, None)
    assert (caught.value.code, caught.value.reason, caught.value.message) == (400, "BadRequest", message)


@pytest.mark.parametrize("ports, message", [
    ([], "spec.ports: Required value"),
    ([{"port": 0}], "spec.ports[0].port: Required value"),
    ([{"port": 80}, {"port": 81}], "spec.ports[0].name: Required value"),
    ([{"port": 80, "protocol": "HTTP"}],
     'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
])
def test_service_port_errors(api, ports, message):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": ports}}
    assert message in refusal(api, body).message


@pytest.mark.parametrize("spec, message", [
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}},
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"),
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}}},
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400"),
    ({"type": "LoadBalancer", "clusterIP": "None"},
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services"),
    ({"type": "NodePort", "clusterIP": "None"},
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"),
    ({"clusterIP": "10.96.300.1"},
     'spec.clusterIPs[0]: Invalid value: "10.96.300.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
    ({"ipFamilyPolicy": "Bogus"},
     'spec.ipFamilyPolicy: Unsupported value: "Bogus": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"'),
    ({"ipFamilies": ["IPv5"]}, 'spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'),
    ({"ipFamilies": ["IPv4", "IPv4"]}, 'spec.ipFamilies[1]: Duplicate value: "IPv4"'),
    ({"type": "NodePort", "externalTrafficPolicy": "Bogus"},
     'spec.externalTrafficPolicy: Unsupported value: "Bogus": supported values: "Cluster", "Local"'),
    ({"internalTrafficPolicy": "Bogus"},
     'spec.internalTrafficPolicy: Unsupported value: "Bogus": supported values: "Cluster", "Local"'),
    ({"type": "ExternalName", "externalName": "bad_name!."},
     'spec.externalName: Invalid value: "bad_name!": a lowercase RFC 1123 subdomain'),
    ({"externalIPs": ["not-an-ip"]},
     'spec.externalIPs[0]: Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
    ({"externalIPs": ["127.0.0.1"]},
     'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'),
    ({"loadBalancerSourceRanges": ["10.0.0.0/8"]},
     "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"),
    ({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/33"]},
     'spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, '
     "(e.g. 10.9.8.0/24 or 2001:db8::/64)"),
    ({"allocateLoadBalancerNodePorts": False},
     "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"),
    ({"loadBalancerClass": "example.com/lb"},
     "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"),
])
def test_service_spec_errors(api, spec, message):
    """ValidateService's checks of the fields besides ports (pkg/apis/core/validation)."""
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}}
    assert message in refusal(api, body).message


def test_a_load_balancer_class_may_not_change_once_set(api):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/a", "ports": [{"port": 80}]}}
    api.create(ADMIN, body)
    with pytest.raises(APIError) as err:
        api.patch(ADMIN, "", "Service", "default", "web", {"spec": {"loadBalancerClass": "example.com/b"}})
    assert 'spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set' in err.value.message


def test_label_keys_and_values_are_checked(api):
    error = refusal(api, pod("x", labels={"bad key": "ok", "ok": "bad value!"}))
    assert 'metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters' in error.message
    assert 'metadata.labels: Invalid value: "bad value!": a valid label must be an empty string' in error.message


def test_node_taints_need_a_supported_effect(api):
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}
    assert ('spec.taints[0].effect: Unsupported value: "Sometimes": supported values: '
            '"NoExecute", "NoSchedule", "PreferNoSchedule"') in refusal(api, body).message


def test_missing_name_is_required(api):
    body = pod()
    del body["metadata"]["name"]
    assert "metadata.name: Required value: name or generateName is required" in refusal(api, body).message


def test_configmap_keys_must_be_config_keys(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a b": "x"}}
    assert 'data: Invalid value: "a b": a valid config key must consist of' in refusal(api, body).message


def test_wrong_api_version_is_a_bad_request(api):
    body = deployment()
    body["apiVersion"] = "apps/v1beta1"
    error = refusal(api, body)
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == ("the API version in the data (apps/v1beta1) does not match the expected "
                             "API version (apps/v1)")


def test_pod_spec_is_immutable_except_image(api):
    api.create(ADMIN, pod("x"))
    changed = pod("x")
    changed["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert api.update(ADMIN, changed)["spec"]["containers"][0]["image"] == "nginx:1.26"
    changed["spec"]["containers"][0]["name"] = "renamed"
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, changed)
    assert caught.value.message.startswith('Pod "x" is invalid: spec: Forbidden: pod updates may not change fields')


def test_deployment_selector_is_immutable(api):
    api.create(ADMIN, deployment("web"))
    changed = deployment("web")
    changed["spec"]["selector"]["matchLabels"]["tier"] = "front"
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, changed)
    assert "spec.selector: Invalid value: " in caught.value.message and "field is immutable" in caught.value.message


def test_frozen_labels_found_valid_are_not_checked_again_and_invalid_ones_always_are(monkeypatch):
    from pyrsistent import freeze

    import engine.validation as v

    checked = []
    inner = v.fc.label_map
    monkeypatch.setattr(v.fc, "label_map", lambda labels, path: checked.append(labels) or inner(labels, path))
    monkeypatch.setattr(v, "_KNOWN_VALID", v.ByIdentity(4096))
    from engine.kinds import BUILTIN

    pod_type = BUILTIN.by_kind("", "Pod")
    good, bad = freeze({"app": "web"}), freeze({"app": "-bad-"})
    for labels in (good, good, bad, bad, {"app": "web"}, {"app": "web"}):
        meta = {"name": "p", "namespace": "demo", "labels": labels}
        errors = v.metadata_errors(pod_type, {"metadata": meta})
        assert bool(errors) == (labels is bad)
    # the frozen valid map once; the invalid one and the plain (mutable) maps every time
    assert checked == [good, bad, bad, {"app": "web"}, {"app": "web"}]


def _priority_class(name: str, value: int, default: bool = False) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, "globalDefault": default}


def test_only_one_priority_class_may_be_the_global_default(api):
    api.create(ADMIN, _priority_class("low", 5, default=True))
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, _priority_class("high", 6, default=True))
    assert (caught.value.code, caught.value.message) == (
        403, 'priorityclasses.scheduling.k8s.io "high" is forbidden: PriorityClass low is already marked as '
             "default. Only one default can exist")
    api.create(ADMIN, _priority_class("high", 6))
    again = api.update(ADMIN, {**_priority_class("low", 5, default=True), "description": "still the default"})
    assert again["globalDefault"] is True


def test_system_priority_class_names_are_reserved(api):
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, _priority_class("system-foo", 10))
    assert caught.value.code == 422 and caught.value.message.endswith(
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. "
        "error: system-foo is not a known system priority class")
    assert api.head.get(("scheduling.k8s.io", "PriorityClass", "", "system-node-critical"))["value"] == 2000001000


def test_the_simulated_runtime_s_controls_are_refused_when_it_cannot_read_them(api):
    """recon's own annotations (README, "Simulation controls"): a value the runtime cannot read would
    leave a pod that never starts, nor stops when deleted; it is refused where it is written."""
    body = pod("crash")  # (kubectl run --annotations does not split on commas)
    body["metadata"]["annotations"] = {"sim.recon.dev/exit-after": "2s,sim.recon.dev/exit-code=1"}
    assert refusal(api, body).message == (
        'Pod "crash" is invalid: metadata.annotations[sim.recon.dev/exit-after]: Invalid value: '
        '"2s,sim.recon.dev/exit-code=1": must be a duration like 5s or 1m30s')
    body["metadata"]["annotations"] = {"sim.recon.dev/exit-code.app": "one", "sim.recon.dev/stop-after": "soon"}
    assert refusal(api, body).message == (
        'Pod "crash" is invalid: [metadata.annotations[sim.recon.dev/exit-code.app]: Invalid value: "one": must be '
        'an integer, metadata.annotations[sim.recon.dev/stop-after]: Invalid value: "soon": must be a duration '
        'like 5s or 1m30s]')
    template = deployment("web")
    template["spec"]["template"]["metadata"]["annotations"] = {"sim.recon.dev/ready-after": "30"}
    assert refusal(api, template).message == (
        'Deployment.apps "web" is invalid: spec.template.metadata.annotations[sim.recon.dev/ready-after]: '
        'Invalid value: "30": must be a duration like 5s or 1m30s')
    # what it can read is taken, and an edit that breaks it later is refused too
    body["metadata"]["annotations"] = {"sim.recon.dev/exit-after": "1m30s", "sim.recon.dev/exit-code.app": "1",
                                       "sim.recon.dev/kubelet": "anything"}
    created = api.create(ADMIN, body)
    edited = {**created, "metadata": {**created["metadata"],
                                      "annotations": {**created["metadata"]["annotations"], "sim.recon.dev/start-after": "x"}}}
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, edited)
    assert "metadata.annotations[sim.recon.dev/start-after]: Invalid value: \"x\"" in caught.value.message
