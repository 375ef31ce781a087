"""Loading a manifests folder: documents, positions, and every kind of mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.errors import ReconError
from engine.kinds import BUILTIN
from engine.manifests import field_path, load_folder, resolve


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: c
      image: nginx
"""


def test_loads_yaml_yml_and_json_files_recursively_in_sorted_order(tmp_path):
    write(tmp_path, "b.yaml", POD.format(name="b"))
    write(tmp_path, "a/c.yml", POD.format(name="c"))
    write(tmp_path, "a.json", '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}')
    write(tmp_path, "notes.txt", "not a manifest")
    folder = load_folder(tmp_path)
    assert folder.files == ("a/c.yml", "a.json", "b.yaml")  # as filepath.Walk
    assert [d.obj["metadata"]["name"] for d in folder.documents] == ["c", "x", "b"]
    assert folder.errors == ()


def test_multi_document_file_gives_each_document_its_start_line(tmp_path):
    write(tmp_path, "two.yaml", "# header\n---\n" + POD.format(name="a") + "---\n" + POD.format(name="b"))
    docs = load_folder(tmp_path).documents
    assert [(d.obj["metadata"]["name"], d.line) for d in docs] == [("a", 3), ("b", 12)]


def test_field_positions_point_at_scalar_values_and_block_keys(tmp_path):
    write(tmp_path, "pod.yaml", POD.format(name="web"))
    doc = load_folder(tmp_path).documents[0]
    assert doc.where(("metadata", "name")) == (4, 9)
    assert doc.where(("spec", "containers", 0, "image")) == (8, 14)
    assert doc.where(("spec", "containers")) == (6, 3)
    assert doc.where(("spec", "nope", "deeper")) == doc.where(("spec",))


def test_empty_and_comment_only_files_are_notes_not_errors(tmp_path):
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "comments.yaml", "# nothing here yet\n---\n")
    folder = load_folder(tmp_path)
    assert folder.errors == () and folder.documents == ()
    assert len(folder.notes) == 2 and all("no objects" in n for n in folder.notes)


def test_yaml_syntax_error_has_line_column_and_source_line(tmp_path):
    write(tmp_path, "bad.yaml", """
        apiVersion: v1
        kind: Pod
        metadata:
          name: x
         labels: oops
        """)
    folder = load_folder(tmp_path)
    (error,) = folder.errors
    assert (error.line, error.col) == (5, 2)
    assert "YAML syntax error" in error.message
    assert error.source_line == " labels: oops"
    assert "bad.yaml:5:2: YAML syntax error" in error.format()
    assert folder.bad_files == {"bad.yaml"} and folder.documents == ()


CONFIGMAP_HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: demo\n"


@pytest.mark.parametrize("tail, source, col, context", [
    ("  labels: [\n", "  labels: [", 12, "while parsing a flow node at line 5"),
    ("  labels: [a,\n\n# more to come\n\n", "  labels: [a,", 14, "while parsing a flow node at line 5"),
    ('  name: "c\n', '  name: "c', 11, "while scanning a quoted scalar at line 5"),
    ('  name: "c', '  name: "c', 11, "while scanning a quoted scalar at line 5"),
], ids=["unclosed-bracket", "unclosed-bracket-then-comments", "unclosed-quote", "unclosed-quote-no-newline"])
def test_a_yaml_syntax_error_at_the_end_of_the_file_points_just_past_its_last_line(tmp_path, tail, source, col,
                                                                                   context):
    write(tmp_path, "eof.yaml", CONFIGMAP_HEAD + tail)
    (error,) = load_folder(tmp_path).errors
    assert (error.line, error.col, error.source_line) == (5, col, source)
    assert context in error.message
    assert error.format().endswith(f"    {source}\n    {' ' * (col - 1)}^")


def test_a_bad_document_makes_the_whole_file_bad(tmp_path):
    write(tmp_path, "mixed.yaml", POD.format(name="good") + "---\napiVersion: v1\nkind: Pod\nmetadata: {}\n")
    folder = load_folder(tmp_path)
    assert folder.documents == ()
    assert folder.bad_files == {"mixed.yaml"}
    assert 'missing "metadata.name"' in folder.errors[0].message


@pytest.mark.parametrize("text, message", [
    ("name: x\nvalue: 3\n", "not a Kubernetes object: it has no apiVersion and no kind"),
    ("kind: Pod\nmetadata: {name: x}\n", 'missing "apiVersion"'),
    ("apiVersion: v1\nmetadata: {name: x}\n", 'missing "kind"'),
    ("apiVersion: v1\nkind: Pod\n", 'missing "metadata.name"'),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: web-\n", "generateName cannot be applied"),
    ("- a\n- b\n", "expected a Kubernetes object"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nkind: Service\n", 'duplicate key "kind" (first set at line 2)'),
])
def test_documents_that_are_not_kubernetes_objects_are_errors(tmp_path, text, message):
    write(tmp_path, "x.yaml", text)
    (error,) = load_folder(tmp_path).errors
    assert message in error.message


def test_kind_list_is_expanded_into_its_items(tmp_path):
    write(tmp_path, "list.yaml", """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Namespace
            metadata: {name: one}
          - apiVersion: v1
            kind: Namespace
            metadata: {name: two}
        """)
    docs = load_folder(tmp_path).documents
    assert [d.obj["metadata"]["name"] for d in docs] == ["one", "two"]
    assert docs[1].where(("metadata",)) == (9, 5)


def test_timestamps_stay_strings_as_in_kubectl(tmp_path):
    write(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  when: 2024-01-01\n")
    assert load_folder(tmp_path).documents[0].obj["data"]["when"] == "2024-01-01"


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(ReconError, match="no such manifests folder"):
        load_folder(tmp_path / "nope")


def test_resolve_fills_the_default_namespace_and_drops_it_for_cluster_scoped_kinds(tmp_path):
    write(tmp_path, "a.yaml", POD.format(name="p") + "---\napiVersion: v1\nkind: Node\nmetadata: {name: n, namespace: x}\n")
    items, errors = resolve(load_folder(tmp_path), BUILTIN)
    assert errors == []
    assert [i.key for i in items] == [("", "Pod", "default", "p"), ("", "Node", "", "n")]


def test_unknown_kind_is_an_error_at_the_kind_line_with_a_suggestion(tmp_path):
    write(tmp_path, "a.yaml", "apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: web}\n")
    items, (error,) = resolve(load_folder(tmp_path), BUILTIN)
    assert items == []
    assert (error.line, error.col) == (2, 7)
    assert 'no matches for kind "Deploymnt" in version "apps/v1"' in error.message
    assert 'did you mean "Deployment"' in error.message


def test_unserved_version_is_an_error(tmp_path):
    write(tmp_path, "a.yaml", "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: web}\n")
    _, (error,) = resolve(load_folder(tmp_path), BUILTIN)
    assert 'served as "apps/v1"' in error.message and error.line == 1


def test_a_crd_in_the_folder_makes_its_kind_known(tmp_path):
    write(tmp_path, "crd.yaml", """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          scope: Namespaced
          names: {plural: widgets, singular: widget, kind: Widget}
          versions: [{name: v1, served: true, storage: true}]
        """)
    write(tmp_path, "w.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    items, errors = resolve(load_folder(tmp_path), BUILTIN)
    assert errors == []
    assert items[1].key == ("example.com", "Widget", "default", "w")


def test_the_same_object_in_two_files_names_both_places_and_resolves_neither(tmp_path):
    write(tmp_path, "a.yaml", POD.format(name="web"))
    write(tmp_path, "b.yaml", "# again\n" + POD.format(name="web"))
    items, (error,) = resolve(load_folder(tmp_path), BUILTIN)
    assert items == []
    assert error.path.endswith("b.yaml") and (error.line, error.col) == (5, 9)
    assert "pod/web in namespace default is defined twice: also at" in error.message
    assert "a.yaml:4:9;" in error.message  # the other definition's name, as the error's own position


def test_field_path_reads_apiserver_field_names():
    assert field_path("spec.template.spec.containers[0].image") == ("spec", "template", "spec", "containers", 0, "image")
    assert field_path("metadata.labels[app]") == ("metadata", "labels", "app")


def test_a_manifest_that_is_not_utf8_is_reported_at_its_first_bad_byte(tmp_path):
    (tmp_path / "cm.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: \"caf\xe9\"}\n")
    (error,) = load_folder(tmp_path).errors
    assert (error.line, error.col, error.source_line) == (4, 15, "data: {a: \"caf\N{REPLACEMENT CHARACTER}\"}")
    assert error.message == "the manifest is not UTF-8: byte 0xe9 cannot be read here; save the file as UTF-8"
