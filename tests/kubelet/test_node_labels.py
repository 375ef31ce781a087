"""The labels a kubelet gives its Node: hostname, os and arch, where the Node has none of its own."""

from __future__ import annotations

from kubelet_helpers import node

DOWN = "sim.recon.dev/kubelet"


def bare(name: str, **kwargs) -> dict:
    """A Node as a hand-written manifest gives it: no labels."""
    n = node(name, **kwargs)
    n["metadata"]["labels"] = {}
    return n


def labels(kc, name="node-1") -> dict:
    return dict(kc.get("Node", name, "")["metadata"].get("labels") or {})


def test_a_node_without_labels_gets_the_kubelets_hostname_os_and_arch(kc):
    kc.create(bare("node-1"))
    kc.run()
    assert labels(kc) == {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux",
                          "kubernetes.io/arch": "amd64"}


def test_labels_the_node_has_are_kept(kc):
    n = bare("node-1")
    n["metadata"]["labels"] = {"kubernetes.io/hostname": "host-a", "kubernetes.io/arch": "arm64", "team": "x"}
    kc.create(n)
    kc.run()
    assert labels(kc) == {"kubernetes.io/hostname": "host-a", "kubernetes.io/os": "linux",
                          "kubernetes.io/arch": "arm64", "team": "x"}


def test_a_node_whose_kubelet_is_down_is_not_labelled_until_it_starts(kc):
    kc.create(bare("node-1", annotations={DOWN: "down"}))
    kc.run()
    assert "kubernetes.io/hostname" not in labels(kc)
    kc.annotate("Node", "node-1", DOWN, None)
    kc.run()
    assert labels(kc)["kubernetes.io/hostname"] == "node-1"


def test_a_pod_spread_over_hostnames_schedules_on_nodes_written_without_labels(tmp_path):
    from kubelet_helpers import KubeletCluster

    kc = KubeletCluster(tmp_path)
    (tmp_path / "rules" / "scheduler").mkdir(parents=True)
    kc.load("kubelet", "node-lifecycle", "scheduler/pod_topology_spread", "scheduler/node_resources_fit")
    kc.create(bare("node-1"))
    kc.create(bare("node-2"))
    spread = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
              "labelSelector": {"matchLabels": {"app": "web"}}}
    for i in range(2):
        kc.create({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": f"web-{i}", "namespace": "demo", "labels": {"app": "web"}},
                   "spec": {"topologySpreadConstraints": [spread],
                            "containers": [{"name": "c", "image": "nginx"}]}})
    kc.run()
    assert sorted(p["spec"].get("nodeName") or "-" for p in kc.pods()) == ["node-1", "node-2"]
