"""Real kubectl (v1.32) against `recon up --serve` on loopback."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import yaml

from http_live import wait_for

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: {image}
        ports:
        - containerPort: 80
        - containerPort: 443
"""

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.toys.example.com
spec:
  group: toys.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
"""


def write(live, name: str, text: str) -> str:
    path = live.root / name
    path.write_text(text)
    return str(path)


def test_version_reports_kubernetes_1_32_so_the_dispatcher_picks_kubectl_1_32(live):
    out = live.kubectl("version", "-o", "json").stdout
    assert json.loads(out)["serverVersion"]["gitVersion"].startswith("v1.32.")


def test_discovery_answers_aggregated_documents_with_their_exact_content_type(live):
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    code, headers, body = live.request("GET", "/apis", headers={"Accept": accept})
    assert code == 200
    assert headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    apps = next(g for g in json.loads(body)["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["shortNames"] == ["deploy"] and deployments["categories"] == ["all"]
    assert {s["subresource"] for s in deployments["subresources"]} == {"scale", "status"}


def test_legacy_discovery_lists_resources_and_subresources_with_or_without_a_trailing_slash(live):
    for path in ("/api/v1", "/api/v1/"):
        code, _, body = live.request("GET", path)
        names = {r["name"] for r in json.loads(body)["resources"]}
        assert code == 200 and {"pods", "pods/log", "pods/status", "services"} <= names
    code, _, body = live.request("GET", "/apis/apps/v1/")
    assert json.loads(body)["groupVersion"] == "apps/v1"


def test_get_prints_kubectls_columns_across_namespaces_and_by_label(live):
    out = live.kubectl("get", "pods", "-A").stdout
    assert out.splitlines()[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "Running" in out
    wide = live.kubectl("get", "pods", "-n", "demo", "-l", "app=web", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len(wide) == 4 and all(line.startswith("web-") for line in wide[1:])


def test_get_configmaps_across_namespaces_lists_each_namespaces_ca_bundle_as_upstream(live):
    lines = live.kubectl("get", "cm", "-A").stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    bundles = [row.split()[:3] for row in lines[1:] if row.split()[1] == "kube-root-ca.crt"]
    for namespace in ("default", "demo", "kube-node-lease", "kube-public", "kube-system"):
        assert [namespace, "kube-root-ca.crt", "1"] in bundles
    doc = json.loads(live.kubectl("get", "cm", "kube-root-ca.crt", "-n", "demo", "-o", "json").stdout)
    assert list(doc["data"]) == ["ca.crt"] and doc["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert doc["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")


def test_get_prints_names_json_yaml_and_jsonpath(live):
    names = live.kubectl("get", "deploy", "-n", "demo", "-o", "name").stdout.split()
    assert names == ["deployment.apps/hello", "deployment.apps/web"]
    doc = json.loads(live.kubectl("get", "svc", "web", "-n", "demo", "-o", "json").stdout)
    assert doc["kind"] == "Service" and doc["metadata"]["resourceVersion"]
    listed = yaml.safe_load(live.kubectl("get", "nodes", "-o", "yaml").stdout)
    assert [n["metadata"]["name"] for n in listed["items"]] == ["node-1", "node-2", "node-3"]
    path = live.kubectl("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas}").stdout
    assert path == "3"


def test_get_svc_yaml_shows_the_empty_load_balancer_status_and_the_external_ip_column(live):
    doc = yaml.safe_load(live.kubectl("get", "svc", "web", "-n", "demo", "-o", "yaml").stdout)
    assert doc["status"] == {"loadBalancer": {}}
    row = live.kubectl("get", "svc", "web", "-n", "demo", "--no-headers").stdout.split()
    assert row[1] == "ClusterIP" and row[3] == "<none>"


def test_a_missing_object_reads_as_upstreams_not_found(live):
    proc = live.kubectl("get", "pod", "nope", check=1)
    assert proc.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_a_bad_label_selector_reads_as_kube_apiservers_parse_error(live):
    err = live.kubectl("get", "pods", "-n", "demo", "-l", "app=-web", check=1).stderr.strip()
    assert err.startswith('Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label '
                          'selector "app=-web", field selector "": unable to parse requirement: values[0][app]: '
                          'Invalid value: "-web": a valid label must be an empty string')


def test_apply_twice_with_a_changed_image_keeps_the_ports(live):
    path = write(live, "ports.yaml", DEPLOYMENT.format(name="ports", image="nginx:1.26"))
    assert "deployment.apps/ports created" in live.kubectl("apply", "-f", path).stdout
    write(live, "ports.yaml", DEPLOYMENT.format(name="ports", image="nginx:1.27"))
    assert "deployment.apps/ports configured" in live.kubectl("apply", "-f", path).stdout
    container = json.loads(live.kubectl("get", "deploy", "ports", "-o", "json").stdout)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert [p["containerPort"] for p in container["ports"]] == [80, 443]


def test_rollout_status_returns_once_the_deployment_is_rolled_out(live):
    path = write(live, "roll.yaml", DEPLOYMENT.format(name="roll", image="nginx:1.27"))
    live.kubectl("apply", "-f", path)
    out = live.kubectl("rollout", "status", "deploy/roll", "--timeout=20s").stdout
    assert 'deployment "roll" successfully rolled out' in out


def test_scale_changes_replicas_and_a_watch_sees_it(live):
    path = write(live, "scaled.yaml", DEPLOYMENT.format(name="scaled", image="nginx:1.27"))
    live.kubectl("apply", "-f", path)
    watcher = subprocess.Popen([*_kubectl(live), "get", "deploy", "scaled", "-w", "--request-timeout=15s",
                                "-o", "jsonpath={.spec.replicas}{\"\\n\"}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=live.root,
                               env={"HOME": str(live.root / "home")})
    try:
        assert watcher.stdout.readline().strip() == "2"  # the initial state, then the change
        assert "deployment.apps/scaled scaled" in live.kubectl("scale", "deploy/scaled", "--replicas=4").stdout
        seen = ""
        while seen != "4":
            seen = watcher.stdout.readline().strip()
            assert seen in ("2", "4"), seen
    finally:
        watcher.kill()
        watcher.wait()
    wait_for(lambda: len(live.kubectl("get", "pods", "-l", "app=scaled", "-o", "name").stdout.split()) == 4,
             "4 pods")


def test_a_deployment_scaled_to_zero_has_no_zero_counts_yet_prints_and_rolls_out_as_zero(live):
    path = write(live, "zero.yaml", DEPLOYMENT.format(name="zero", image="nginx:1.27"))
    live.kubectl("apply", "-f", path)
    live.kubectl("rollout", "status", "deploy/zero", "--timeout=20s")
    live.kubectl("scale", "deploy/zero", "--replicas=0")
    out = live.kubectl("rollout", "status", "deploy/zero", "--timeout=20s").stdout
    assert 'deployment "zero" successfully rolled out' in out

    def statuses():
        deploy = json.loads(live.kubectl("get", "deploy", "zero", "-o", "json").stdout)["status"]
        sets = json.loads(live.kubectl("get", "rs", "-l", "app=zero", "-o", "json").stdout)["items"]
        return sorted(deploy), [rs["status"] for rs in sets]

    wait_for(lambda: statuses() == (["conditions", "observedGeneration"], [{"replicas": 0, "observedGeneration": 2}]),
             "the scaled-down status")
    unavailable = live.kubectl("get", "deploy", "zero", "-o", "jsonpath={.status.unavailableReplicas}").stdout
    assert unavailable == ""
    [row] = live.kubectl("get", "deploy", "zero", "--no-headers").stdout.splitlines()
    assert row.split()[:4] == ["zero", "0/0", "0", "0"]
    [row] = live.kubectl("get", "rs", "-l", "app=zero", "--no-headers").stdout.splitlines()
    assert row.split()[1:4] == ["0", "0", "0"]


def _kubectl(live) -> list[str]:
    from http_live import KUBECTL

    return [KUBECTL, "--kubeconfig", str(live.kubeconfig)]


def test_create_and_delete_return_once_the_object_exists_and_once_it_is_gone(live):
    path = write(live, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
    assert "configmap/settings created" in live.kubectl("create", "-f", path).stdout
    again = live.kubectl("create", "-f", path, check=1)
    assert 'configmaps "settings" already exists' in again.stderr
    assert 'configmap "settings" deleted' in live.kubectl("delete", "configmap", "settings").stdout
    assert "NotFound" in live.kubectl("get", "configmap", "settings", check=1).stderr


def test_deleting_a_deployment_waits_until_it_is_gone(live):
    path = write(live, "doomed.yaml", DEPLOYMENT.format(name="doomed", image="nginx:1.27"))
    live.kubectl("apply", "-f", path)
    live.kubectl("delete", "deploy", "doomed", "--cascade=foreground", "--timeout=20s")
    assert "NotFound" in live.kubectl("get", "deploy", "doomed", check=1).stderr


def test_describe_pod_shows_its_events_and_logs_show_the_container_lines(live):
    pod = live.kubectl("get", "pods", "-n", "demo", "-l", "app=web", "-o", "name").stdout.split()[0]
    described = live.kubectl("describe", "-n", "demo", pod).stdout
    assert "Events:" in described and "Scheduled" in described
    logs = live.kubectl("logs", "-n", "demo", pod).stdout
    assert "started container nginx" in logs


def test_api_resources_lists_short_names_and_custom_kinds(live):
    out = live.kubectl("api-resources").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["pods"][1] == "po" and rows["deployments"][1] == "deploy"
    assert rows["webapps"][-1] == "WebApp"


def test_a_crd_and_a_custom_object_of_its_kind(live):
    live.kubectl("apply", "-f", write(live, "crd.yaml", CRD))
    wait_for(lambda: live.kubectl("get", "gadgets", check=None).returncode == 0, "the Gadget kind")
    obj = "apiVersion: toys.example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 3}\n"
    assert "gadget.toys.example.com/g1 created" in live.kubectl("apply", "-f", write(live, "g1.yaml", obj)).stdout
    assert live.kubectl("get", "gd", "g1", "-o", "jsonpath={.spec.size}").stdout == "3"
    assert live.kubectl("get", "gadgets").stdout.split()[:3] == ["NAME", "AGE", "g1"]


def test_http_writes_land_in_the_history_as_the_user(live):
    live.kubectl("apply", "-f", write(live, "hist.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hist}\n"))
    from engine.wal import open_store

    store = open_store(str(live.root / ".recon"), readonly=True)
    try:
        records = [r for r in store.log.records() if any(op.key == ("", "ConfigMap", "default", "hist")
                                                         for op in r.ops)]
    finally:
        store.close()
    assert [r.actor for r in records] == ["kubernetes-admin"]
    assert records[0].cause[0]["http"] == "POST /api/v1/namespaces/default/configmaps"


def test_removing_the_last_finalizer_of_an_object_being_deleted_answers_with_it(live):
    live.kubectl("create", "configmap", "held", "-n", "default", "--from-literal=a=b")
    live.kubectl("patch", "configmap", "held", "-n", "default", "-p", '{"metadata":{"finalizers":["example.com/x"]}}')
    live.kubectl("delete", "configmap", "held", "-n", "default", "--wait=false")
    out = live.kubectl("patch", "configmap", "held", "-n", "default", "--type", "merge",
                       "-p", '{"metadata":{"finalizers":null}}').stdout
    assert out.strip() == "configmap/held patched"
    assert "NotFound" in live.kubectl("get", "configmap", "held", "-n", "default", check=1).stderr


def test_apply_switches_a_deployment_to_recreate_dropping_the_defaulted_rolling_update(live):
    path = write(live, "switch.yaml", DEPLOYMENT.format(name="switch", image="nginx:1.27"))
    live.kubectl("apply", "-f", path)
    write(live, "switch.yaml", DEPLOYMENT.format(name="switch", image="nginx:1.27").replace(
        "  replicas: 2\n", "  replicas: 2\n  strategy:\n    type: Recreate\n"))
    assert "configured" in live.kubectl("apply", "-f", path).stdout
    strategy = json.loads(live.kubectl("get", "deploy", "switch", "-n", "default", "-o", "jsonpath={.spec.strategy}").stdout)
    assert strategy == {"type": "Recreate"}


NODE_PORT_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: default}}
spec:
  type: NodePort
  selector: {{app: {name}}}
  ports:
  - {{name: http, port: 80, nodePort: 30123}}
"""


def test_a_service_patched_to_another_type_gives_up_what_the_old_type_held(live):
    live.kubectl("apply", "-f", write(live, "np1.yaml", NODE_PORT_SERVICE.format(name="np1")))
    live.kubectl("patch", "svc", "np1", "-n", "default", "-p", '{"spec":{"type":"ClusterIP"}}')
    spec = json.loads(live.kubectl("get", "svc", "np1", "-n", "default", "-o", "json").stdout)["spec"]
    assert "nodePort" not in spec["ports"][0] and "externalTrafficPolicy" not in spec
    # the node port is free for another Service
    live.kubectl("apply", "-f", write(live, "np2.yaml", NODE_PORT_SERVICE.format(name="np2")))
    live.kubectl("patch", "svc", "np1", "-n", "default", "-p",
                 '{"spec":{"type":"ExternalName","externalName":"example.com"}}')
    spec = json.loads(live.kubectl("get", "svc", "np1", "-n", "default", "-o", "json").stdout)["spec"]
    assert not {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"} & set(spec)
    live.kubectl("delete", "svc", "np1", "np2", "-n", "default")


def test_field_selectors_read_unset_booleans_as_false_and_take_upstreams_field_labels(live):
    def names(*args: str) -> list[str]:
        return sorted(live.kubectl("get", *args, "-o", "name").stdout.split())

    pods = names("pods", "-n", "demo")
    assert pods and names("pods", "-n", "demo", "--field-selector", "spec.hostNetwork=false") == pods
    assert names("pods", "-n", "demo", "--field-selector", "spec.hostNetwork=true") == []
    nodes = names("nodes")
    assert nodes and names("nodes", "--field-selector", "spec.unschedulable=false") == nodes
    node = live.kubectl("get", pods[0], "-n", "demo", "-o", "jsonpath={.spec.nodeName}").stdout
    assert names("pods", "-n", "demo", "--field-selector", f"spec.host={node}") == names(
        "pods", "-n", "demo", "--field-selector", f"spec.nodeName={node}")
    assert names("svc", "-A", "--field-selector", "spec.type=ClusterIP,spec.clusterIP=10.96.0.1") == [
        "service/kubernetes"]


def test_a_watch_with_a_field_selector_on_an_unset_boolean_sees_the_pods_it_selects(live):
    since = json.loads(live.request("GET", "/api/v1/namespaces/default/pods")[2])["metadata"]["resourceVersion"]
    for name, host in (("on-host", True), ("in-pod-net", False)):
        spec = {"containers": [{"name": "app", "image": "busybox:1.36"}], **({"hostNetwork": True} if host else {})}
        code, _, body = live.request("POST", "/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
        assert code == 201, body
    req = urllib.request.Request(live.url + f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={since}"
                                 "&timeoutSeconds=1&fieldSelector=spec.hostNetwork%3Dfalse")
    with urllib.request.urlopen(req, timeout=10) as resp:
        events = [json.loads(line) for line in resp.read().splitlines()]
    seen = {e["object"]["metadata"]["name"] for e in events}
    assert "in-pod-net" in seen and "on-host" not in seen
    live.kubectl("delete", "pod", "on-host", "in-pod-net", "-n", "default", "--wait=false")


def test_apply_of_a_misspelt_kind_says_no_matches_for_kind_as_against_kube_apiserver(live):
    path = write(live, "typo.yaml", DEPLOYMENT.format(name="typo", image="nginx:1.27").replace(
        "kind: Deployment", "kind: Deploymnet"))
    err = live.kubectl("apply", "-f", path, check=1).stderr
    assert 'no matches for kind "Deploymnet" in version "apps/v1"' in err
    assert "openapi" not in err
    # a known kind still applies (its schemas come from /openapi/v3)
    good = write(live, "fine.yaml", DEPLOYMENT.format(name="fine", image="nginx:1.27"))
    assert "created" in live.kubectl("apply", "-f", good).stdout
