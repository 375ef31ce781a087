"""`recon get` against a state folder that `recon up --once` wrote."""

from __future__ import annotations

import json

import pytest
import yaml

from .helpers import recon


def rows(text: str) -> list[list[str]]:
    """A kubectl-style table as lists of cells (cells are separated by 3+ spaces)."""
    import re

    return [re.split(r"\s{3,}", line.strip()) for line in text.strip().splitlines()]


def test_get_pods_all_namespaces_as_json_is_a_kubectl_list(example):
    out = json.loads(recon("get", "pods", "-A", "-o", "json", cwd=example, check=0).stdout)
    assert out["apiVersion"] == "v1" and out["kind"] == "List"
    assert out["metadata"] == {"resourceVersion": ""}
    for pod in out["items"]:
        assert pod["kind"] == "Pod" and pod["metadata"]["namespace"] == "demo"


def test_get_nodes_table_has_kubectl_columns(example):
    table = rows(recon("get", "nodes", cwd=example, check=0).stdout)
    assert table[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] or table[0][:4] == ["NAME", "STATUS", "ROLES", "AGE"]
    assert [r[0] for r in table[1:]] == ["node-1", "node-2", "node-3"]
    assert all(r[2] == "<none>" for r in table[1:])


@pytest.mark.parametrize("kind", ["deployments", "deployment", "deploy", "deployments.apps", "Deployment"])
def test_kubectl_names_and_short_names_resolve(example, kind):
    table = rows(recon("get", kind, "-n", "demo", cwd=example, check=0).stdout)
    assert table[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert "web" in [r[0] for r in table[1:]]


def test_service_table_shows_type_and_ports(example):
    table = rows(recon("get", "svc", "web", "-n", "demo", cwd=example, check=0).stdout)
    assert table[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table[1][:2] == ["web", "ClusterIP"] and table[1][3:5] == ["<none>", "80/TCP"]


def test_all_namespaces_adds_a_namespace_column(example):
    table = rows(recon("get", "deploy", "-A", cwd=example, check=0).stdout)
    assert table[0][:2] == ["NAMESPACE", "NAME"]
    assert ["demo", "web"] in [r[:2] for r in table[1:]]


def test_namespaces_table(example):
    table = rows(recon("get", "ns", cwd=example, check=0).stdout)
    assert table[0] == ["NAME", "STATUS", "AGE"]
    assert ["demo", "Active"] in [r[:2] for r in table[1:]]


def test_output_name(example):
    out = recon("get", "no", "-o", "name", cwd=example, check=0).stdout.split()
    assert out == ["node/node-1", "node/node-2", "node/node-3"]
    assert "deployment.apps/web" in recon("get", "deploy", "-n", "demo", "-o", "name", cwd=example, check=0).stdout.split()


def test_one_object_as_yaml_and_json(example):
    as_yaml = yaml.safe_load(recon("get", "deploy", "web", "-n", "demo", "-o", "yaml", cwd=example, check=0).stdout)
    as_json = json.loads(recon("get", "deployment.apps/web", "-n", "demo", "-o", "json", cwd=example, check=0).stdout)
    assert as_yaml == as_json
    assert as_json["kind"] == "Deployment" and as_json["spec"]["replicas"] == 3
    assert as_json["metadata"]["annotations"]["recon.dev/source"] == "web.yaml"


def test_label_selector(example):
    assert recon("get", "no", "-l", "topology.kubernetes.io/zone=zone-a", "-o", "name",
                 cwd=example, check=0).stdout.split() == ["node/node-1", "node/node-2"]
    assert recon("get", "no", "-l", "topology.kubernetes.io/zone notin (zone-a)", "-o", "name",
                 cwd=example, check=0).stdout.split() == ["node/node-3"]


def test_comma_list_prints_one_table_per_kind_with_kind_prefixes(example):
    out = recon("get", "deploy,svc", "-n", "demo", cwd=example, check=0).stdout
    first, second = out.strip().split("\n\n")
    assert "deployment.apps/web" in [r[0] for r in rows(first)[1:]]
    assert "service/web" in [r[0] for r in rows(second)[1:]]


def test_kind_prefixes_go_before_the_name_cell_as_kubectl_puts_them(example):
    """The example cluster has the default StorageClass recon ships: kubectl shows it `standard (default)`."""
    alone = rows(recon("get", "sc", cwd=example, check=0).stdout)
    assert [r[0] for r in alone[1:]] == ["standard (default)"]
    out = recon("get", "sc,ns", cwd=example, check=0).stdout
    assert [r[0] for r in rows(out.strip().split("\n\n")[0])[1:]] == ["storageclass.storage.k8s.io/standard (default)"]


def test_all_category(example):
    out = recon("get", "all", "-n", "demo", "-o", "name", cwd=example, check=0).stdout.split()
    assert "service/web" in out and "deployment.apps/web" in out


def test_wide_pods_have_more_columns(example):
    proc = recon("get", "pods", "-A", "-o", "wide", cwd=example, check=0)
    if proc.stdout:
        assert rows(proc.stdout)[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                        "NOMINATED NODE", "READINESS GATES"]


def test_empty_namespace_says_no_resources_found(example):
    proc = recon("get", "deploy", "-n", "nowhere", cwd=example, check=0)
    assert proc.stdout == ""
    assert proc.stderr == "No resources found in nowhere namespace.\n"


def test_missing_object_exits_1_with_kubectl_wording(example):
    proc = recon("get", "pods", "x", "-n", "demo", cwd=example, check=1)
    assert proc.stderr == 'Error from server (NotFound): pods "x" not found\n'
    proc = recon("get", "deploy", "nope", "-n", "demo", cwd=example, check=1)
    assert 'deployments.apps "nope" not found' in proc.stderr


def test_unknown_kind_is_a_clear_error(example):
    proc = recon("get", "widgetz", cwd=example, check=1)
    assert proc.stderr.startswith('error: the server doesn\'t have a resource type "widgetz"')
    assert "Traceback" not in proc.stderr


def test_bad_selector_is_a_clear_error(example):
    proc = recon("get", "pods", "-l", "a in (b", cwd=example, check=1)
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_get_without_a_kind_is_a_usage_error(example):
    proc = recon("get", cwd=example, check=2)
    assert proc.stderr.startswith('error: you must specify the type of resource to get. Use "recon get pods"')
    assert "recon get -h" in proc.stderr


def test_bad_output_format_is_a_usage_error(example):
    proc = recon("get", "pods", "-o", "xml", cwd=example, check=2)
    assert "invalid choice: 'xml'" in proc.stderr and "recon get -h" in proc.stderr


def test_get_without_state_says_how_to_start(tmp_path):
    proc = recon("get", "pods", cwd=tmp_path, check=1)
    assert 'no cluster state in .recon: start one with "recon up"' in proc.stderr


def test_at_revision_reads_the_past(example):
    head = json.loads(recon("get", "ns", "demo", "-o", "json", cwd=example, check=0).stdout)
    created = int(head["metadata"]["resourceVersion"])
    before = recon("get", "ns", "demo", "--at", str(created - 1), cwd=example, check=1)
    assert 'namespaces "demo" not found' in before.stderr
    recon("get", "ns", "demo", "--at", str(created), cwd=example, check=0)


def test_age_comes_from_the_cluster_clock(example):
    table = rows(recon("get", "ns", "demo", cwd=example, check=0).stdout)
    age = table[1][2]
    assert age.endswith(("s", "m")) and "d" not in age  # minutes of simulated time, not the years since 2026


def test_help_is_short_with_examples(tmp_path):
    out = recon("get", "-h", cwd=tmp_path, check=0).stdout
    assert "examples:" in out and "recon get pods -n demo" in out
    out = recon("up", "-h", cwd=tmp_path, check=0).stdout
    assert "examples:" in out and "--once" in out


def test_names_and_options_may_come_in_any_order_as_kubectl_takes_them(example):
    after = recon("get", "svc", "-n", "demo", "web", cwd=example, check=0).stdout
    assert after == recon("get", "svc", "web", "-n", "demo", cwd=example, check=0).stdout
    assert rows(after)[1][0] == "web"
    described = recon("describe", "svc", "-n", "demo", "web", cwd=example, check=0).stdout
    assert "Name:" in described and "web" in described


def test_ages_are_as_of_the_last_revision_unless_a_recon_up_runs_on_the_state(example):
    """A finished run's state shows its cluster at its last revision; while a live `recon up` holds
    the folder (its clock the wall clock's), the cluster moves on without writing, and ages and logs
    are as of now, as kubectl shows them."""
    import time

    from engine.cli import _now, _read_state
    from engine.wal import StateFolder

    state = example / ".recon"
    head = _read_state(str(state), None)
    folder = StateFolder(state)
    assert not folder.writer_running()
    assert _now(str(state), head, None) == head.time  # (a --once run's simulated 2026-01-01)
    fd = folder.lock()  # as a live `recon up` holds it
    try:
        assert folder.writer_running()
        assert _now(str(state), head, None) >= time.time() - 1 > head.time
        assert _now(str(state), head, head.revision) == head.time  # (--at: that revision's moment)
    finally:
        import os

        os.close(fd)
    assert not folder.writer_running()


def test_ages_on_a_state_ahead_of_the_machine_are_as_of_the_running_clusters_clock(example, monkeypatch):
    """A live `recon up` on a state whose time is ahead of the machine's goes on from that time at
    the machine's pace (clock.WallClock): a read while it runs sees the cluster where its clock is,
    not at its last revision; while a `--once` run holds the folder, at its last revision."""
    import os

    from engine import clock
    from engine.cli import _now, _read_state
    from engine.wal import StateFolder

    state = example / ".recon"
    head = _read_state(str(state), None)
    machine = [head.time - 30 * 86400]  # (the state's simulated time is 30 days ahead of the machine)
    monkeypatch.setattr(clock.time, "time", lambda: machine[0])
    folder = StateFolder(state)
    fd = folder.lock()  # as a live `recon up` holds it
    try:
        running = clock.WallClock(floor=head.time)
        folder.publish_clock(running.lead)  # (what `recon up` does when it starts)
        machine[0] += 600  # ten minutes on, without a write
        assert _now(str(state), head, None) == running.now() == head.time + 600
        folder.publish_clock(None)  # a --once run: simulated
        assert _now(str(state), head, None) == head.time
    finally:
        folder.unpublish_clock()
        os.close(fd)
    assert not (state / "clock").exists()
