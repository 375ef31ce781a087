"""explain's field paths: keys with dots as kubectl and jq users quote them, and fields never set."""

from __future__ import annotations

import pytest

from history_helpers import example_run, recon

from engine import history as H

HOSTNAME = ("metadata", "labels", "kubernetes.io/hostname")
KUBELET = ("metadata", "annotations", "sim.recon.dev/kubelet")


@pytest.fixture(scope="module")
def node_down(tmp_path_factory):
    """The example cluster, then node-1 annotated down in nodes.yaml and applied: (folder, edit revision)."""
    cwd = tmp_path_factory.mktemp("paths")
    example_run(cwd)
    before = H.History.open(cwd / "s").head
    nodes = cwd / "manifests" / "nodes.yaml"
    nodes.write_text(nodes.read_text().replace(
        "  name: node-1\n", "  name: node-1\n  annotations:\n    sim.recon.dev/kubelet: down\n", 1))
    recon("up", "manifests", "--once", "--state", "s", cwd=cwd)
    return cwd, before + 1


@pytest.mark.parametrize("text, steps", [
    ("spec.containers[0].image", ("spec", "containers", 0, "image")),
    ('metadata.labels["kubernetes.io/hostname"]', HOSTNAME),
    ("metadata.labels['kubernetes.io/hostname']", HOSTNAME),
    ('metadata.labels."kubernetes.io/hostname"', HOSTNAME),
    (r"metadata.labels.kubernetes\.io/hostname", HOSTNAME),
    (".metadata.labels[app]", ("metadata", "labels", "app")),
    ('metadata.annotations["say \\"hi\\""]', ("metadata", "annotations", 'say "hi"')),
])
def test_field_paths_read_the_quotings_kubectl_and_jq_users_know(text, steps):
    assert H.field_path(text) == steps


@pytest.mark.parametrize("steps", [HOSTNAME, KUBELET, ("a", 'say "hi"', 2, "b c")])
def test_a_path_as_chains_print_it_reads_back_as_the_same_path(steps):
    assert H.field_path(H._dotted(steps)) == steps


@pytest.mark.parametrize("text", ["", "spec.", "spec..replicas", 'metadata.labels["a', "spec[0", "spec nodeName"])
def test_a_path_that_cannot_be_read_is_an_error_not_a_field(text):
    with pytest.raises(H.FieldPathError, match="cannot read the field path"):
        H.field_path(text)


def test_an_unquoted_key_with_dots_is_found_in_the_object():
    node = {"metadata": {"labels": {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux"}}}
    assert H.resolve_field(node, ("metadata", "labels", "kubernetes", "io/hostname")) == HOSTNAME
    assert H.resolve_field(node, ("metadata", "labels", "nope", "x")) == ("metadata", "labels", "nope", "x")


@pytest.mark.parametrize("path", [
    'metadata.annotations["sim.recon.dev/kubelet"]', "metadata.annotations['sim.recon.dev/kubelet']",
    'metadata.annotations."sim.recon.dev/kubelet"', "metadata.annotations.sim.recon.dev/kubelet"])
def test_explain_gives_an_annotation_with_dots_and_the_revision_that_set_it(node_down, path):
    cwd, edit = node_down
    out = recon("explain", "node/node-1", path, "--state", "s", cwd=cwd).stdout.splitlines()
    assert out[0] == 'node/node-1 metadata.annotations."sim.recon.dev/kubelet" = down'
    assert out[1].startswith(f"rev {edit} ") and "manifests:nodes.yaml" in out[1]
    assert out[1].endswith('metadata.annotations."sim.recon.dev/kubelet": <none> → down  [external input]')


def test_explain_gives_a_label_with_dots_typed_without_quotes(node_down):
    cwd, _ = node_down
    out = recon("explain", "node/node-1", "metadata.labels.kubernetes.io/hostname", "--state", "s",
                cwd=cwd).stdout.splitlines()
    assert out[0] == 'node/node-1 metadata.labels."kubernetes.io/hostname" = node-1'
    assert "node/node-1 created" in out[1]


def test_explain_refuses_a_path_it_cannot_read_with_exit_2(node_down):
    cwd, _ = node_down
    proc = recon("explain", "node/node-1", 'metadata.labels["kubernetes.io/hostname"', "--state", "s",
                 cwd=cwd, check=2)
    assert "cannot read the field path" in proc.stderr and proc.stdout == ""


def test_explain_says_a_field_the_object_does_not_have_is_not_set(node_down):
    cwd, edit = node_down
    out = recon("explain", "deploy/web", "spec.nosuch", "-n", "demo", "--state", "s", cwd=cwd).stdout
    head = H.History.open(cwd / "s").head
    assert out.splitlines()[0] == f"deploy/web spec.nosuch = <none> (not set at revision {head})"
    before = recon("explain", "node/node-1", 'metadata.annotations."sim.recon.dev/kubelet"', "--at", str(edit - 1),
                   "--state", "s", cwd=cwd).stdout
    assert before.splitlines()[0] == (f'node/node-1 metadata.annotations."sim.recon.dev/kubelet" = <none> '
                                      f"(not set at revision {edit - 1})")
