"""Applying a folder to an in-memory cluster: kubectl apply semantics, and prune."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.manifests import LAST_APPLIED, SOURCE, apply_folder, load_folder
from engine.objects import get_path
from engine.store import Store

ADMIN = Actor("admin", "user", None)

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web, tier: front}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
"""
NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"


class Folder:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(exist_ok=True)
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.actors: list[str] = []
        self.store.listeners.append(lambda snap, events, record: self.actors.append(record.actor))

    def write(self, name: str, text: str) -> None:
        (self.root / name).write_text(textwrap.dedent(text))

    def remove(self, name: str) -> None:
        (self.root / name).unlink()

    def apply(self):
        return apply_folder(self.api, load_folder(self.root))

    def get(self, group: str, kind: str, ns: str, name: str):
        return self.store.head.get((group, kind, ns, name))

    def deployment(self):
        return self.get("apps", "Deployment", "demo", "web")


@pytest.fixture
def folder(tmp_path) -> Folder:
    f = Folder(tmp_path / "manifests")
    f.write("ns.yaml", NS)
    f.write("web.yaml", DEPLOY)
    return f


def actions(result) -> dict[str, str]:
    return {f"{c.key[1]}/{c.key[3]}": c.action for c in result.changes}


def test_creates_objects_marked_with_their_source_file(folder):
    result = folder.apply()
    assert actions(result) == {"Namespace/demo": "created", "Deployment/web": "created"}
    annotations = get_path(folder.deployment(), "metadata", "annotations")
    assert annotations[SOURCE] == "web.yaml"
    assert '"image":"nginx:1.27"' in annotations[LAST_APPLIED]
    assert get_path(folder.deployment(), "metadata", "labels", "applyset.kubernetes.io/part-of") == "recon-manifests"


def test_history_names_the_file_each_write_came_from(folder):
    folder.apply()
    assert "manifests:ns.yaml" in folder.actors and "manifests:web.yaml" in folder.actors


def test_reapplying_an_unchanged_folder_writes_nothing(folder):
    folder.apply()
    revision = folder.store.revision
    result = folder.apply()
    assert set(actions(result).values()) == {"unchanged"}
    assert folder.store.revision == revision


def test_a_services_server_set_status_is_not_a_difference_to_apply(folder):
    folder.write("svc.yaml", SERVICE.format(port=80))
    folder.apply()
    assert get_path(folder.get("", "Service", "demo", "web"), "status") == {"loadBalancer": {}}
    revision = folder.store.revision
    assert set(actions(folder.apply()).values()) == {"unchanged"}
    assert folder.store.revision == revision


def test_an_edit_is_applied_and_fields_set_by_others_are_kept(folder):
    folder.apply()
    folder.api.patch(ADMIN, "apps", "Deployment", "demo", "web", {"spec": {"replicas": 7}}, "merge")
    folder.write("web.yaml", DEPLOY.replace("nginx:1.27", "nginx:1.28"))
    assert actions(folder.apply())["Deployment/web"] == "configured"
    deploy = folder.deployment()
    assert get_path(deploy, "spec", "template", "spec", "containers", 0, "image") == "nginx:1.28"
    assert get_path(deploy, "spec", "replicas") == 7  # the manifest never set it


def test_a_field_the_manifest_stops_setting_is_removed(folder):
    folder.apply()
    folder.write("web.yaml", DEPLOY.replace("app: web, tier: front", "app: web"))
    folder.apply()
    assert "tier" not in get_path(folder.deployment(), "metadata", "labels")


def test_a_field_changed_by_hand_is_restored(folder):
    folder.apply()
    folder.api.patch(ADMIN, "apps", "Deployment", "demo", "web", {"metadata": {"labels": {"tier": "back"}}}, "merge")
    assert actions(folder.apply())["Deployment/web"] == "configured"
    assert get_path(folder.deployment(), "metadata", "labels", "tier") == "front"


def test_prune_deletes_only_objects_that_came_from_the_folder(folder):
    folder.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-folder, namespace: demo}\n")
    folder.apply()
    folder.api.create(ADMIN, {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "by-hand", "namespace": "demo"}})
    folder.remove("cm.yaml")
    result = folder.apply()
    assert actions(result)["ConfigMap/from-folder"] == "pruned"
    assert folder.get("", "ConfigMap", "demo", "by-hand") is not None
    assert folder.get("", "ConfigMap", "demo", "from-folder") is None


def test_prune_deletes_with_background_propagation_as_kubectl_apply_prune(folder):
    # (a ReplicationController deleted with no policy would orphan its pods: it would stay, `orphan` on it)
    folder.write("rc.yaml", """\
        apiVersion: v1
        kind: ReplicationController
        metadata: {name: web, namespace: demo}
        spec:
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: c, image: nginx}]}
        """)
    folder.apply()
    assert folder.get("", "ReplicationController", "demo", "web")["spec"]["selector"] == {"app": "web"}
    folder.remove("rc.yaml")
    assert actions(folder.apply())["ReplicationController/web"] == "pruned"
    assert folder.get("", "ReplicationController", "demo", "web") is None


def test_a_bad_file_keeps_its_objects_and_the_rest_of_the_batch_applies(folder):
    folder.apply()
    folder.write("web.yaml", DEPLOY.replace("nginx:1.27", "nginx:1.28") + "  bad: [\n")
    folder.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: demo}\n")
    result = folder.apply()
    assert result.bad_files == {"web.yaml"} and len(result.errors) == 1
    assert actions(result) == {"Namespace/demo": "unchanged", "ConfigMap/new": "created"}
    assert get_path(folder.deployment(), "spec", "template", "spec", "containers", 0, "image") == "nginx:1.27"


def test_a_refused_document_keeps_its_whole_file_at_the_last_good_version(folder):
    folder.write("web.yaml", DEPLOY + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: demo}\n")
    folder.apply()
    broken = DEPLOY.replace("replicas", "x") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: demo}\ndata: {k: v}\n"
    folder.write("web.yaml", broken.replace("name: nginx\n", "name: NGINX_BAD\n"))
    result = folder.apply()
    (error,) = result.errors
    assert error.line == 13 and "spec.template.spec.containers[0].name" in error.message
    assert get_path(folder.get("", "ConfigMap", "demo", "a"), "data") is None


SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  ports:\n    - port: {port}\n"


def service_port(folder: Folder) -> int:
    return get_path(folder.get("", "Service", "demo", "web"), "spec", "ports", 0, "port")


def test_a_new_file_defining_an_applied_object_again_is_the_error_and_changes_nothing(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    revision = folder.store.revision
    folder.write("aa.yaml", SERVICE.format(port=81))  # before web.yaml in path order
    result = folder.apply()
    (error,) = result.errors
    assert error.path.endswith("aa.yaml") and (error.line, error.col) == (4, 9)
    assert "service/web in namespace demo is defined twice: also at" in error.message
    assert "web.yaml:19:9;" in error.message
    assert result.bad_files == {"aa.yaml"} and "Service/web" not in actions(result)
    assert folder.store.revision == revision
    assert service_port(folder) == 80
    assert get_path(folder.get("", "Service", "demo", "web"), "metadata", "annotations", SOURCE) == "web.yaml"


def test_an_object_defined_twice_is_neither_applied_nor_pruned_until_one_definition_goes(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    folder.write("web.yaml", DEPLOY.replace("nginx:1.27", "nginx:1.28") + "---\n" + SERVICE.format(port=82))
    folder.write("aa.yaml", SERVICE.format(port=81))
    result = folder.apply()
    assert actions(result) == {"Namespace/demo": "unchanged", "Deployment/web": "configured"}
    assert service_port(folder) == 80  # web.yaml's other objects apply; its Service waits
    folder.remove("aa.yaml")
    assert actions(folder.apply())["Service/web"] == "configured"
    assert service_port(folder) == 82


def test_an_object_two_new_files_define_is_created_from_neither(folder):
    folder.write("aa.yaml", SERVICE.format(port=81))
    folder.write("bb.yaml", SERVICE.format(port=82))
    result = folder.apply()
    (error,) = result.errors
    assert error.path.endswith("bb.yaml") and "also at" in error.message and "aa.yaml:4:9;" in error.message
    assert result.bad_files == {"bb.yaml"}
    assert folder.get("", "Service", "demo", "web") is None


def test_a_crd_and_its_objects_apply_in_one_folder(folder):
    folder.write("zz-crd.yaml", """\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          scope: Namespaced
          names: {plural: widgets, singular: widget, kind: Widget}
          versions:
            - name: v1
              served: true
              storage: true
              schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
        """)
    folder.write("a-widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: demo}\nspec: {size: 3}\n")
    result = folder.apply()
    assert result.errors == ()
    assert actions(result)["Widget/w"] == "created"
    assert folder.get("example.com", "Widget", "demo", "w") is not None


def test_removing_the_whole_folder_content_prunes_namespaces_last(folder):
    folder.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: demo}\n")
    folder.apply()
    for name in ("ns.yaml", "web.yaml", "cm.yaml"):
        folder.remove(name)
    result = folder.apply()
    pruned = [c.key[1] for c in result.changes if c.action == "pruned"]
    assert pruned[-1] == "Namespace" and sorted(pruned[:-1]) == ["ConfigMap", "Deployment"]


def test_a_new_file_cannot_take_over_an_object_of_a_file_that_is_broken(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    revision = folder.store.revision
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=82) + "  bad: [\n")
    folder.write("aa.yaml", SERVICE.format(port=81) + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: demo}\n")
    result = folder.apply()
    held = next(e for e in result.errors if e.path.endswith("aa.yaml"))
    assert (held.line, held.col) == (4, 9) and held.source_line == "  name: web"
    assert "service/web in namespace demo is defined in " in held.message
    assert held.message.endswith("web.yaml, which has an error (line 24): fix that first, or remove service/web "
                                 "from it (until then its last good version stays in force)")
    assert result.bad_files == {"web.yaml", "aa.yaml"} and actions(result) == {"Namespace/demo": "unchanged"}
    assert folder.store.revision == revision  # neither taken over nor pruned
    assert service_port(folder) == 80
    assert get_path(folder.get("", "Service", "demo", "web"), "metadata", "annotations", SOURCE) == "web.yaml"


def test_an_object_moves_to_a_new_file_once_its_broken_file_is_fixed_without_it(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    folder.write("web.yaml", DEPLOY + "  bad: [\n")
    folder.write("aa.yaml", SERVICE.format(port=81))
    folder.apply()
    assert service_port(folder) == 80
    folder.write("web.yaml", DEPLOY)
    result = folder.apply()
    assert not result.errors and actions(result)["Service/web"] == "configured"
    assert service_port(folder) == 81
    assert get_path(folder.get("", "Service", "demo", "web"), "metadata", "annotations", SOURCE) == "aa.yaml"


def test_an_object_moves_to_a_new_file_once_its_broken_file_is_deleted(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    folder.write("web.yaml", "  bad: [\n")
    folder.write("aa.yaml", SERVICE.format(port=81))
    folder.apply()
    folder.remove("web.yaml")
    result = folder.apply()
    assert not result.errors and actions(result)["Service/web"] == "configured"
    assert actions(result)["Deployment/web"] == "pruned" and service_port(folder) == 81


def test_an_object_whose_document_is_refused_cannot_be_taken_over_either(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=82).replace("ports:", "portz:"))
    folder.write("aa.yaml", SERVICE.format(port=81))
    result = folder.apply()
    assert any(e.path.endswith("aa.yaml") and "which has an error" in e.message for e in result.errors)
    assert service_port(folder) == 80


def test_a_broken_file_never_affects_the_objects_of_another(folder):
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=80))
    folder.apply()
    folder.write("aa.yaml", SERVICE.format(port=81) + "  bad: [\n")
    folder.write("web.yaml", DEPLOY + "---\n" + SERVICE.format(port=82))
    result = folder.apply()
    assert result.bad_files == {"aa.yaml"} and len(result.errors) == 1
    assert actions(result)["Service/web"] == "configured" and service_port(folder) == 82


def test_what_pod_admission_reads_is_applied_before_the_pods_whatever_file_it_is_in(folder):
    folder.write("a-pod.yaml", """\
        apiVersion: v1
        kind: Pod
        metadata: {name: solo, namespace: demo}
        spec:
          serviceAccountName: builder
          priorityClassName: batch
          containers: [{name: c, image: busybox}]
        """)
    folder.write("b-sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder, namespace: demo}\n")
    folder.write("c-pc.yaml", "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: batch}\nvalue: 10\n")
    folder.write("d-limits.yaml", """\
        apiVersion: v1
        kind: LimitRange
        metadata: {name: limits, namespace: demo}
        spec:
          limits: [{type: Container, defaultRequest: {cpu: 50m}}]
        """)
    result = folder.apply()
    assert result.errors == (), [e.format() for e in result.errors]
    pod = folder.get("", "Pod", "demo", "solo")
    assert get_path(pod, "spec", "priority") == 10
    assert get_path(pod, "spec", "containers", 0, "resources", "requests", "cpu") == "50m"
    for name in ("b-sa.yaml", "c-pc.yaml", "d-limits.yaml", "a-pod.yaml"):
        folder.remove(name)
    result = folder.apply()  # pruned dependents first: the pod before what its admission read
    assert result.errors == () and result.notes == (), (result.errors, result.notes)
    pruned = [c.key[1] for c in result.changes if c.action == "pruned"]
    assert pruned[0] == "Pod" and sorted(pruned[1:]) == ["LimitRange", "PriorityClass", "ServiceAccount"]


def test_nulls_and_empty_lists_are_kept_out_as_the_api_server_keeps_them_out(folder):
    # as `kubectl create deployment … --dry-run=client -o yaml` writes it
    folder.write("web.yaml", DEPLOY.replace("metadata: {labels: {app: web}}",
                                            "metadata: {labels: {app: web}, creationTimestamp: null}")
                 + "          env: []\n      nodeSelector: null\n")
    assert actions(folder.apply())["Deployment/web"] == "created"
    template = get_path(folder.deployment(), "spec", "template")
    assert "creationTimestamp" not in template["metadata"]
    assert "env" not in template["spec"]["containers"][0] and "nodeSelector" not in template["spec"]
    assert actions(folder.apply())["Deployment/web"] == "unchanged"  # (it was patched: a new template)
    assert get_path(folder.deployment(), "metadata", "generation") == 1


def test_a_null_in_the_file_removes_the_field_as_kubectl_apply_does(folder):
    folder.write("cm.yaml", """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: demo, labels: {gone: x, kept: y}, annotations: {note: n}}
        data: {a: "1", b: "2"}
        """)
    folder.apply()
    folder.write("cm.yaml", """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: demo, labels: {gone: null, kept: y}, annotations: {note: null}}
        data: {a: "1", b: null}
        """)
    assert actions(folder.apply())["ConfigMap/c"] == "configured"
    cm = folder.get("", "ConfigMap", "demo", "c")
    assert dict(cm["data"]) == {"a": "1"}
    assert dict(cm["metadata"]["labels"])["kept"] == "y" and "gone" not in cm["metadata"]["labels"]
    assert "note" not in (cm["metadata"].get("annotations") or {})
    assert actions(folder.apply())["ConfigMap/c"] == "unchanged"


HPA_V1 = """\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: demo}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  targetCPUUtilizationPercentage: 60
"""


def test_an_autoscaling_v1_file_is_compared_with_the_v1_view_of_the_stored_v2_object(folder):
    folder.write("ns.yaml", NS)
    folder.write("hpa.yaml", HPA_V1)
    assert actions(folder.apply())["HorizontalPodAutoscaler/web"] == "created"
    stored = folder.get("autoscaling", "HorizontalPodAutoscaler", "demo", "web")
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert actions(folder.apply())["HorizontalPodAutoscaler/web"] == "unchanged"
    # a field v1 cannot show, set by someone else through v2, is kept when the file changes
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    folder.api.patch(ADMIN, "autoscaling", "HorizontalPodAutoscaler", "demo", "web", {"spec": {"behavior": behavior}})
    folder.write("hpa.yaml", HPA_V1.replace("60", "75"))
    assert actions(folder.apply())["HorizontalPodAutoscaler/web"] == "configured"
    stored = folder.get("autoscaling", "HorizontalPodAutoscaler", "demo", "web")
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}}}]
    assert stored["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60
    assert actions(folder.apply())["HorizontalPodAutoscaler/web"] == "unchanged"


NODE = """\
apiVersion: v1
kind: Node
metadata: {{name: node-1}}
status:
  capacity: {{cpu: "{cpu}", memory: 8Gi, pods: "110"}}
"""


def test_a_status_edited_in_the_file_is_noted_as_taken_only_by_a_new_object(folder):
    folder.write("node.yaml", NODE.format(cpu=4))
    assert folder.apply().notes == ()
    assert get_path(folder.get("", "Node", "", "node-1"), "status", "capacity", "cpu") == "4"
    folder.write("node.yaml", NODE.format(cpu=1))
    result = folder.apply()
    (note,) = result.notes  # (the file as the folder was named: here an absolute path)
    assert note == (f"{folder.root / 'node.yaml'}: the status of node/node-1 changed, but only a new object takes "
                    "its status from the file (it is its controller's, or its kubelet's): delete node/node-1 to have "
                    "it created with this one")
    assert get_path(folder.get("", "Node", "", "node-1"), "status", "capacity", "cpu") == "4"  # (as upstream's apply)
    assert folder.apply().notes == ()  # (said once: the file's configuration is the applied one now)
