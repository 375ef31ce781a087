"""Which parts of the pod a filter or score reads: the key its per-node answers are shared by."""

from __future__ import annotations

import textwrap

from engine.dsl.check import load
from engine.dsl.reads import pod_reads


def reads(body: str):
    text = "component c\n  reads Pod, Node\n\nfilter F(pod, node):\n" + textwrap.indent(textwrap.dedent(body).strip(), "  ")
    module = load(text + "\n", "test.rules")
    return pod_reads(module.decls[0])


def test_a_path_through_the_pod_is_read_up_to_its_last_named_step():
    assert reads('reject "x" when pod.spec.hostNetwork and node.spec.unschedulable') == (("spec", "hostNetwork"),)


def test_a_computed_index_reads_the_whole_value_before_it():
    assert reads('reject "x" when pod.metadata.labels[node.metadata.name] == "a"') == (
        ("metadata", "labels"), ("metadata", "metadata", "labels"))
    assert reads('reject "x" when pod.spec.containers[0].image == node.metadata.name') == (("spec", "containers"),)


def test_a_literal_index_is_a_named_step():
    assert reads('reject "x" when pod.metadata.labels["app"] == node.metadata.name') == (
        ("metadata", "labels", "app"), ("metadata", "metadata", "labels", "app"))


def test_a_metadata_shortcut_counts_as_both_spellings():
    assert reads('reject "x" when pod.labels.app == node.metadata.name') == (
        ("labels", "app"), ("metadata", "labels", "app"))


def test_a_metadata_shortcut_below_the_top_counts_as_both_spellings_there_too():
    # a map without `labels` of its own reads its `metadata.labels` at any step (runtime.path)
    assert reads('reject "x" when pod.spec.template.labels.tier == "a"') == (
        ("spec", "template", "labels", "tier"), ("spec", "template", "metadata", "labels", "tier"))


def test_the_pod_given_whole_to_a_builtin_that_reads_known_paths_counts_as_those_paths():
    assert reads('reject "x" when pod_units(pod).cpu > 1') == (
        ("spec", "containers"), ("spec", "initContainers"), ("spec", "overhead"))
    assert reads('reject "x" when matches({"app": "a"}, pod)') == (("metadata", "labels"),)


def test_the_pod_used_whole_in_any_other_way_reads_all_of_it():
    assert reads('let p = pod\nreject "x" when p.spec.hostNetwork') is None
    assert reads('reject "x" when count(pod) > 1') is None
    assert reads('reject "x" when matches(pod, node)') is None  # not the argument the table names


def test_the_clock_makes_every_answer_its_own():
    assert reads('reject "x" when time(pod.metadata.creationTimestamp) + 10s > now') is None


def test_reads_inside_queries_lets_and_branches_are_all_found():
    body = '''
        let mine = Pod in pod.metadata.namespace where it.spec.nodeName == node.metadata.name
        when pod.spec.priority > 0:
          reject "x" when count(mine) > pod.spec.overhead.cpu
    '''
    assert reads(body) == (("metadata", "metadata", "namespace"), ("metadata", "namespace"),
                           ("spec", "overhead", "cpu"), ("spec", "priority"))
