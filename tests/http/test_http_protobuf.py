"""Real kubectl sends protobuf bodies (client-go's typed clients); recon decodes them like JSON.

Each `kubectl create` generator runs twice: once as kubectl sends it
(protobuf) into namespace `pb`, once as JSON (`--dry-run=client -o json`,
then `kubectl create -f`) into namespace `js`; the stored objects must be the
same.  Kinds recon does not serve (Job, CronJob, …) are checked on the bytes
kubectl logs at `-v=9`.  The server runs with TLS so that kubectl sends
ServiceAccount tokens (client-go sends no credentials over plain HTTP).
"""

from __future__ import annotations

import base64
import datetime
import json
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from http_live import start, stop

from engine.api.protobuf import decode_object

SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "namespace", "managedFields", "generation",
              "selfLink")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("live"), "--tls")
    for ns in ("pb", "js"):
        server.kubectl("create", "namespace", ns)
    yield server
    stop(server)


def comparable(obj: dict) -> dict:
    """The object without what the server or a controller assigns per object (uid, IPs, node ports, tokens…)."""
    obj = dict(obj)
    obj.pop("status", None)
    obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in SERVER_SET}
    if obj["kind"] == "Service":
        spec = {k: v for k, v in obj["spec"].items() if k not in ("clusterIP", "clusterIPs")}
        spec["ports"] = [{k: v for k, v in port.items() if k != "nodePort"} for port in spec.get("ports", [])]
        obj["spec"] = spec
    if obj["kind"] == "ServiceAccount":
        obj.pop("secrets", None)  # the token Secret the controller creates has a generated name
    return without_nulls(obj)


def without_nulls(value):
    """JSON's `"rules": null` and protobuf's absent list mean the same (upstream stores both as nil)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def get_json(live, kind: str, name: str, namespace: str | None) -> dict:
    where = ("-n", namespace) if namespace else ()
    return json.loads(live.kubectl("get", kind, name, *where, "-o", "json").stdout)


GENERATORS = [
    # (kubectl create arguments, kind to get, name, namespaced)
    (["deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80"], "deployment", "web", True),
    (["deployment", "idle", "--image=nginx", "--replicas=0"], "deployment", "idle", True),
    (["configmap", "settings", "--from-literal=mode=fast", "--from-file=app.conf"], "configmap", "settings", True),
    (["secret", "generic", "creds", "--from-literal=password=s3cr3t", "--type=Opaque"], "secret", "creds", True),
    (["secret", "docker-registry", "pull", "--docker-username=u", "--docker-password=p",
      "--docker-server=registry.example"], "secret", "pull", True),
    (["service", "clusterip", "front", "--tcp=80:8080", "--tcp=443:8443"], "service", "front", True),
    (["service", "nodeport", "edge", "--tcp=80:8080"], "service", "edge", True),
    (["serviceaccount", "robot"], "serviceaccount", "robot", True),
    (["role", "reader", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=web"],
     "role", "reader", True),
    (["rolebinding", "read", "--role=reader", "--serviceaccount=pb:robot", "--user=ann", "--group=devs"],
     "rolebinding", "read", True),
]

CLUSTER_GENERATORS = [
    (["namespace", "{}-space"], "namespace"),
    (["clusterrole", "{}-viewer", "--verb=get", "--resource=pods", "--non-resource-url=/logs"],
     "clusterrole"),
    (["clusterrole", "{}-aggregate", "--aggregation-rule=rbac.example.com/aggregate=true"], "clusterrole"),
    (["clusterrolebinding", "{}-view", "--clusterrole=view", "--user=bob", "--serviceaccount=pb:robot"],
     "clusterrolebinding"),
    (["priorityclass", "{}-high", "--value=1000", "--description=important", "--preemption-policy=Never"],
     "priorityclass"),
]


def test_kubectl_create_sends_protobuf_and_reads_the_json_answer(live):
    out = live.kubectl("-v=8", "create", "namespace", "proto-check")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in out.stderr
    assert "namespace/proto-check created" in out.stdout
    assert get_json(live, "namespace", "proto-check", None)["metadata"]["name"] == "proto-check"


@pytest.mark.parametrize("args,kind,name,_", GENERATORS, ids=[" ".join(g[0][:2]) for g in GENERATORS])
def test_a_create_generator_stores_the_same_object_as_its_json(live, args, kind, name, _):
    (live.root / "app.conf").write_text("threads = 4\n")
    live.kubectl("create", *args, "-n", "pb")
    doc = live.kubectl("create", *args, "-n", "js", "--dry-run=client", "-o", "json").stdout
    live.kubectl("create", "-f", "-", input=doc)
    assert comparable(get_json(live, kind, name, "pb")) == comparable(get_json(live, kind, name, "js"))


@pytest.mark.parametrize("args,kind", CLUSTER_GENERATORS, ids=[" ".join(g[0][:2]) for g in CLUSTER_GENERATORS])
def test_a_cluster_scoped_generator_stores_the_same_object_as_its_json(live, args, kind):
    live.kubectl("create", *[a.format("pb") for a in args])
    doc = json.loads(live.kubectl("create", *[a.format("js") for a in args], "--dry-run=client", "-o", "json").stdout)
    live.kubectl("create", "-f", "-", input=json.dumps(doc))
    proto, plain = (comparable(get_json(live, kind, args[1].format(p), None)) for p in ("pb", "js"))
    assert proto["metadata"].pop("name") == args[1].format("pb")
    plain["metadata"].pop("name")
    proto.get("metadata", {}).get("labels", {}).pop("kubernetes.io/metadata.name", None)
    plain.get("metadata", {}).get("labels", {}).pop("kubernetes.io/metadata.name", None)
    assert proto == plain


def test_a_tls_secret_keeps_its_certificate_bytes(live):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "pb.example")])
    when = datetime.datetime(2030, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(when).not_valid_after(when + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (live.root / "tls.crt").write_bytes(cert_pem)
    (live.root / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    live.kubectl("create", "secret", "tls", "site", "--cert=tls.crt", "--key=tls.key", "-n", "pb")
    secret = get_json(live, "secret", "site", "pb")
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == cert_pem


def request_body(stderr: str) -> bytes:
    """The request body kubectl logs at -v=9 as a hex dump."""
    dump = re.search(r'"Request Body" body=<\n(.*?)\n >', stderr, re.S)
    assert dump, stderr[-2000:]
    data = bytearray()
    for line in dump.group(1).splitlines():
        data += bytes.fromhex(re.match(r"\s*[0-9a-f]{8}((?:\s{1,2}[0-9a-f]{2})+)", line).group(1).replace(" ", ""))
    return bytes(data)


UNSERVED = [
    ["job", "once", "--image=busybox", "--", "echo", "hi"],
    ["cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *"],
    ["poddisruptionbudget", "min", "--selector=app=web", "--min-available=1"],
    ["poddisruptionbudget", "max", "--selector=app=web", "--max-unavailable=30%"],
    ["ingress", "site", "--rule=foo.example/bar=front:8080,tls=site", "--class=nginx"],
    ["quota", "small", "--hard=cpu=1,pods=2,requests.memory=1Gi"],
]


@pytest.mark.parametrize("args", UNSERVED, ids=[a[0] for a in UNSERVED])
def test_kubectls_protobuf_for_kinds_recon_does_not_serve_decodes_to_its_json(live, args):
    sent = live.kubectl("-v=9", "create", "-n", "pb", *args, check=None)
    want = json.loads(live.kubectl("create", "-n", "pb", "--dry-run=client", "-o", "json", *args).stdout)
    got = decode_object(request_body(sent.stderr))
    assert got == want


def sa_token(live, namespace: str, name: str) -> str:
    # a bound token from TokenRequest: v1.32 generates no token Secrets
    return live.kubectl("create", "token", name, "-n", namespace).stdout.strip()


def test_auth_can_i_answers_yes_for_the_admin_and_no_for_a_serviceaccount_without_bindings(live):
    assert live.kubectl("auth", "can-i", "create", "deployments.apps", "-n", "pb").stdout.strip() == "yes"
    live.kubectl("create", "serviceaccount", "loner", "-n", "pb")
    token = sa_token(live, "pb", "loner")
    out = live.kubectl("--token", token, "auth", "can-i", "create", "deployments.apps", "-n", "pb", check=1)
    assert out.stdout.startswith("no")


def test_auth_whoami_sends_a_protobuf_self_subject_review_and_names_the_serviceaccount(live):
    live.kubectl("create", "serviceaccount", "who", "-n", "pb")
    out = live.kubectl("--token", sa_token(live, "pb", "who"), "auth", "whoami", "-v=9")
    assert "application/vnd.kubernetes.protobuf" in out.stderr
    assert out.stdout.splitlines()[1].split() == ["Username", "system:serviceaccount:pb:who"]


def test_a_server_dry_run_drain_sends_its_dry_run_in_protobuf_delete_options_and_deletes_nothing(live):
    node = live.kubectl("get", "pods", "-n", "demo", "-o", "jsonpath={.items[0].spec.nodeName}").stdout
    pods = live.kubectl("get", "pods", "-A", "-o", "name").stdout
    # deleting instead of evicting (client-go's typed client: protobuf DeleteOptions), then waiting for pods
    # a dry run keeps, until its timeout
    out = live.kubectl("-v=9", "drain", node, "--dry-run=server", "--disable-eviction", "--ignore-daemonsets",
                       "--force", "--timeout=2s", check=None, timeout=60)
    deletes = [line for line in out.stderr.splitlines() if "curl -v -XDELETE" in line]
    assert deletes and all('"Content-Type: application/vnd.kubernetes.protobuf"' in line for line in deletes)
    assert live.kubectl("get", "pods", "-A", "-o", "name").stdout == pods
    live.kubectl("uncordon", node)


def test_a_drain_deletes_pods_with_protobuf_delete_options(live):
    node = live.kubectl("get", "pods", "-n", "demo", "-o", "jsonpath={.items[0].spec.nodeName}").stdout
    out = live.kubectl("-v=9", "drain", node, "--disable-eviction", "--ignore-daemonsets", "--force",
                       "--timeout=30s", timeout=60)
    deletes = [line for line in out.stderr.splitlines() if "curl -v -XDELETE" in line]
    assert deletes and all('"Content-Type: application/vnd.kubernetes.protobuf"' in line for line in deletes)
    assert f"node/{node} drained" in out.stdout
    live.kubectl("uncordon", node)


def test_a_drain_evicts_its_pods(live):
    # (the module's generators made PodDisruptionBudgets in pb and js that select the same pods: an eviction
    # refuses a pod two budgets cover, as upstream's)
    for ns in ("pb", "js"):
        live.kubectl("delete", "pdb", "--all", "-n", ns)
    node = live.kubectl("get", "pods", "-n", "demo", "-o", "jsonpath={.items[0].spec.nodeName}").stdout
    out = live.kubectl("-v=9", "drain", node, "--ignore-daemonsets", "--force", "--timeout=30s", timeout=60)
    evictions = [line for line in out.stderr.splitlines() if "curl -v -XPOST" in line and "/eviction" in line]
    assert evictions and "evicted" in out.stdout and f"node/{node} drained" in out.stdout
    live.kubectl("uncordon", node)
