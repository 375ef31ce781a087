"""kubectl's columns for custom kinds (printer columns, scale paths), RBAC, PriorityClass and subresources."""

from __future__ import annotations

import json

from http_live import wait_for

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.shop.example.com
spec:
  group: shop.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color, priority: 1}
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.size, statusReplicasPath: .status.size, labelSelectorPath: .status.selector}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
          status:
            type: object
            properties:
              size: {type: integer}
              selector: {type: string}
"""

WIDGET = "apiVersion: shop.example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 2, color: red}\n"


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def widget(live) -> None:
    if live.kubectl("get", "wd", "w1", check=None).returncode == 0:
        return
    (live.root / "wd-crd.yaml").write_text(CRD)
    live.kubectl("apply", "-f", str(live.root / "wd-crd.yaml"))
    wait_for(lambda: live.kubectl("get", "widgets", check=None).returncode == 0, "the Widget kind")
    (live.root / "w1.yaml").write_text(WIDGET)
    live.kubectl("apply", "-f", str(live.root / "w1.yaml"))
    live.kubectl("patch", "wd", "w1", "--subresource=status", "--type=merge",
                 "-p", '{"status": {"size": 5, "selector": "app=w"}}')


def test_get_shows_a_crds_printer_columns_and_the_priority_1_ones_only_wide(live):
    widget(live)
    assert rows(live.kubectl("get", "wd").stdout) == [["NAME", "SIZE"], ["w1", "2"]]
    assert rows(live.kubectl("get", "wd", "-o", "wide").stdout) == [["NAME", "SIZE", "COLOR"], ["w1", "2", "red"]]


def test_scale_writes_and_reads_the_crds_replicas_paths(live):
    widget(live)
    live.kubectl("scale", "wd", "w1", "--replicas=3")
    assert json.loads(live.kubectl("get", "wd", "w1", "-o", "jsonpath={.spec}").stdout) == {"size": 3, "color": "red"}
    scale = rows(live.kubectl("get", "wd", "w1", "--subresource=scale").stdout)
    assert scale[0] == ["NAME", "DESIRED", "AVAILABLE", "AGE"] and scale[1][:3] == ["w1", "3", "5"]
    raw = json.loads(live.kubectl("get", "--raw", "/apis/shop.example.com/v1/namespaces/default/widgets/w1/scale").stdout)
    assert raw["spec"] == {"replicas": 3} and raw["status"] == {"replicas": 5, "selector": "app=w"}


def test_a_deployments_scale_and_status_subresources_print_as_tables(live):
    scale = rows(live.kubectl("get", "deploy", "web", "-n", "demo", "--subresource=scale").stdout)
    assert scale[0] == ["NAME", "DESIRED", "AVAILABLE", "AGE"] and scale[1][0] == "web"
    status = rows(live.kubectl("get", "deploy", "web", "-n", "demo", "--subresource=status").stdout)
    assert status[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and status[1][0] == "web"


def test_priorityclasses_roles_and_bindings_print_upstreams_columns(live):
    assert rows(live.kubectl("get", "pc").stdout)[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    live.kubectl("create", "role", "pod-reader", "--verb=get", "--resource=pods")
    live.kubectl("create", "rolebinding", "read-pods", "--role=pod-reader", "--user=alice",
                 "--serviceaccount=default:robot")
    assert rows(live.kubectl("get", "role", "pod-reader").stdout)[0] == ["NAME", "CREATED", "AT"]
    header, row = rows(live.kubectl("get", "rolebinding", "read-pods", "-o", "wide").stdout)
    assert header == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert row[:2] == ["read-pods", "Role/pod-reader"] and row[3:] == ["alice", "default/robot"]  # (no groups)
