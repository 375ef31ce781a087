"""End to end: a Node's Events and the events.k8s.io/v1 view of Events, as real kubectl shows them."""

from __future__ import annotations

import json

import yaml
from http_live import wait_for


def events_section(described: str) -> list[list[str]]:
    lines = described.split("Events:", 1)[1].splitlines()
    return [line.split(None, 4) for line in lines[3:] if line.strip()]  # Type, Reason, Age, From, Message


def test_describe_node_shows_its_registration_the_kubelet_start_and_a_cordon(live):
    rows = events_section(live.kubectl("describe", "node", "node-1").stdout)
    # (one moment: kubectl's sort leaves their order open)
    assert sorted((r[1], r[3], r[4]) for r in rows) == sorted([
        ("RegisteredNode", "node-lifecycle-controller", "Node node-1 event: Registered Node node-1 in Controller"),
        ("Starting", "kubelet", "Starting kubelet."),
        ("NodeHasSufficientMemory", "kubelet", "Node node-1 status is now: NodeHasSufficientMemory"),
        ("NodeHasNoDiskPressure", "kubelet", "Node node-1 status is now: NodeHasNoDiskPressure"),
        ("NodeHasSufficientPID", "kubelet", "Node node-1 status is now: NodeHasSufficientPID"),
        ("NodeAllocatableEnforced", "kubelet", "Updated Node Allocatable limit across pods"),
        ("NodeReady", "kubelet", "Node node-1 status is now: NodeReady"),
    ])
    live.kubectl("cordon", "node-1")
    try:
        wait_for(lambda: "NodeNotSchedulable" in live.kubectl("describe", "node", "node-1").stdout, "the cordon's event")
    finally:
        live.kubectl("uncordon", "node-1")
    described = wait_for(lambda: (lambda out: out if "NodeSchedulable " in out else None)(
        live.kubectl("describe", "node", "node-1").stdout), "the uncordon's event")
    assert {r[1] for r in events_section(described)[-2:]} == {"NodeNotSchedulable", "NodeSchedulable"}
    # kubectl get events finds the kubelet's by the node's name, the controller's by its uid
    uid = live.kubectl("get", "node", "node-1", "-o", "jsonpath={.metadata.uid}").stdout
    by_name = live.kubectl("get", "events", "-n", "default", "--field-selector",
                           "involvedObject.kind=Node,involvedObject.uid=node-1", "-o", "name").stdout.split()
    by_uid = live.kubectl("get", "events", "-n", "default", "--field-selector",
                          f"involvedObject.kind=Node,involvedObject.uid={uid}", "-o", "name").stdout.split()
    assert len(by_name) == 8 and len(by_uid) == 1


def test_events_k8s_io_serves_the_core_events_in_its_own_shape(live):
    resources = live.kubectl("api-resources", "--api-group=events.k8s.io", "--no-headers").stdout.split()
    assert resources == ["events", "events.k8s.io/v1", "true", "Event"]  # no short name, as upstream
    core = json.loads(live.kubectl("get", "events", "-n", "default", "-o", "json", "--field-selector",
                                   "involvedObject.name=node-2,reason=Starting").stdout)["items"][0]
    name = core["metadata"]["name"]
    new = yaml.safe_load(live.kubectl("get", "events.events.k8s.io", "-n", "default", name, "-o", "yaml").stdout)
    assert new == {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": core["metadata"],
        "eventTime": None, "reason": "Starting", "note": "Starting kubelet.", "type": "Normal",
        "regarding": {"kind": "Node", "name": "node-2", "uid": "node-2"},
        "deprecatedSource": {"component": "kubelet", "host": "node-2"},
        "deprecatedFirstTimestamp": core["firstTimestamp"], "deprecatedLastTimestamp": core["lastTimestamp"],
        "deprecatedCount": 1, "reportingController": "kubelet", "reportingInstance": "node-2",
    }
    table = live.kubectl("get", "events.events.k8s.io", "-A", "--field-selector",
                         "regarding.name=node-2,reason=NodeReady").stdout.splitlines()
    assert len(table) == 2 and table[1].split()[3:5] == ["NodeReady", "node/node-2"]
    refused = live.kubectl("get", "events.events.k8s.io", "-A", "--field-selector", "involvedObject.name=node-2",
                           check=1)
    assert "field label not supported: involvedObject.name" in refused.stderr


def test_an_event_written_as_events_k8s_io_is_a_core_event(live):
    # recent time stamps (an Event expires an hour after its last one)
    started = live.kubectl("get", "node", "node-1", "-o", "jsonpath={.metadata.creationTimestamp}").stdout
    first, last = started.replace("Z", ".000000Z"), started.replace("Z", ".500000Z")
    live.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "hello.1", "namespace": "demo"},
        "eventTime": first, "reportingController": "example.com/hello",
        "reportingInstance": "hello-1", "action": "Greeting", "reason": "Hello", "note": "hi", "type": "Normal",
        "regarding": {"kind": "Pod", "name": "x", "namespace": "demo"},
        "series": {"count": 2, "lastObservedTime": last}}))
    live.kubectl("patch", "events.events.k8s.io", "-n", "demo", "hello.1", "--type=merge", "-p", '{"note": "hello"}')
    core = json.loads(live.kubectl("get", "events", "-n", "demo", "hello.1", "-o", "json").stdout)
    assert {k: core.get(k) for k in ("message", "reportingComponent", "reportingInstance", "involvedObject",
                                     "eventTime", "series", "action")} == {
        "message": "hello", "reportingComponent": "example.com/hello", "reportingInstance": "hello-1",
        "involvedObject": {"kind": "Pod", "name": "x", "namespace": "demo"},
        "eventTime": first, "action": "Greeting", "series": {"count": 2, "lastObservedTime": last}}
    live.kubectl("delete", "events.events.k8s.io", "-n", "demo", "hello.1")
    assert live.kubectl("get", "events", "-n", "demo", "hello.1", check=1).returncode == 1


def test_an_event_created_through_events_k8s_io_is_checked_as_that_api_asks(live):
    refused = live.kubectl("create", "-f", "-", check=1, input=yaml.safe_dump({
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "bad.1", "namespace": "demo"},
        "reason": "Hello", "note": "hi", "type": "Info", "deprecatedCount": 3,
        "regarding": {"kind": "Pod", "name": "x", "namespace": "demo"}}))
    assert refused.stderr.splitlines() == [
        'The Event "bad.1" is invalid: ',
        "* reportingController: Required value",
        "* reportingInstance: Required value",
        "* action: Required value",
        "* eventTime: Required value",
        '* type: Invalid value: "": has invalid value: Info',
        '* deprecatedCount: Invalid value: "": needs to be unset',
    ]
    # the core API stays as lenient as upstream's
    live.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "lenient.1", "namespace": "demo"},
        "involvedObject": {"kind": "Pod", "name": "x", "namespace": "demo"}}))
    live.kubectl("delete", "events", "-n", "demo", "lenient.1")
