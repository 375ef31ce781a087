"""recon check --invariant: the first revision where a rule-language boolean fails, and why."""

from __future__ import annotations


import pytest

from history_helpers import example_run, recon
from engine import history as H
from engine.dsl.compile import compile_expression
from engine.errors import SourceErrors


@pytest.fixture(scope="module")
def scaled_to_zero(tmp_path_factory):
    """The example cluster, then web.yaml edited to 0 replicas and applied: (folder, edit revision)."""
    cwd = tmp_path_factory.mktemp("invariant")
    example_run(cwd)
    before = H.History.open(cwd / "s").head
    web = cwd / "manifests" / "web.yaml"
    web.write_text(web.read_text().replace("replicas: 3", "replicas: 0", 1))
    recon("up", "manifests", "--once", "--state", "s", cwd=cwd)
    return cwd, before + 1


def test_a_deployment_scaled_to_zero_is_reported_at_the_manifest_edit(scaled_to_zero):
    cwd, edit = scaled_to_zero
    out = recon("check", "--invariant", "it.spec.replicas > 0", "--kind", "Deployment", "--state", "s",
                cwd=cwd, check=1).stdout.splitlines()
    assert out[0] == f"invariant fails at revision {edit} for deploy/web -n demo: it.spec.replicas > 0 gives false"
    assert out[1].split()[0] == str(edit) and "manifests:web.yaml" in out[1] and "~deploy/web" in out[1]
    assert "spec.replicas: 3 → 0  [external input]" in out[-1]


def test_an_invariant_that_holds_exits_zero_and_says_how_much_it_checked(scaled_to_zero):
    cwd, edit = scaled_to_zero
    out = recon("check", "--invariant", "it.spec.replicas >= 0", "--kind", "deploy", "--state", "s",
                cwd=cwd).stdout
    assert out.startswith("invariant holds for every Deployment in revisions 1..")
    before = recon("check", "--invariant", "it.spec.replicas > 0", "--kind", "Deployment", "--to", str(edit - 1),
                   "--state", "s", cwd=cwd).stdout
    assert f"revisions 1..{edit - 1}" in before


def test_without_kind_the_expression_is_evaluated_per_revision_and_the_cause_is_followed(scaled_to_zero):
    cwd, edit = scaled_to_zero
    out = recon("check", "--invariant", 'count(Pod where it.metadata.labels.app == "web") >= 3',
                "--from", str(edit - 1), "--state", "s", cwd=cwd, check=1).stdout.splitlines()
    assert out[0].startswith("invariant fails at revision ") and " for " not in out[0]
    assert int(out[0].split()[4].rstrip(":")) > edit  # a pod went away after the edit
    assert "-pod/web-" in out[1]
    assert out[-1].endswith("spec.replicas: 3 → 0  [external input]") and "manifests:web.yaml" in out[-1]


def test_a_broken_expression_exits_2_with_a_caret_under_the_mistake(scaled_to_zero):
    cwd, _ = scaled_to_zero
    err = recon("check", "--invariant", "it.spec.replicas >", "--kind", "Deployment", "--state", "s",
                cwd=cwd, check=2).stderr
    assert err.splitlines()[:3] == ["<invariant>:1:19: expected an expression",
                                    "    it.spec.replicas >", "                      ^"]
    err = recon("check", "--invariant", "it.spec.replicas > 0", "--state", "s", cwd=cwd, check=2).stderr
    assert err.startswith("<invariant>:1:1: 'it' is only defined") and "give --kind" in err


def test_compile_expression_reports_positions_in_the_expression_itself():
    with pytest.raises(SourceErrors) as caught:
        compile_expression("count(Pod) > lenn(it.x)", "<invariant>", it=True)
    (error,) = caught.value.errors
    assert (error.path, error.line, error.col, error.source_line) == ("<invariant>", 1, 14, "count(Pod) > lenn(it.x)")
    assert "unknown function 'lenn'" in error.message
    with pytest.raises(SourceErrors):
        compile_expression("pod.spec", "<invariant>", it=True)  # the wrapper's parameters are not visible


def test_with_a_kind_only_the_objects_a_revision_wrote_are_evaluated(recording):
    history = H.History.open(recording.state)
    seen = []

    def count(ctx, obj):
        seen.append(obj["metadata"]["name"])
        return True

    start = next(r.revision for r in history.records() if any(op.key[1] == "Pod" for op in r.ops)) + 1
    result = H.check_invariant(history, count, ("", "Pod"), None, start)
    at_start = len(history.snapshot(start).keys("", "Pod"))
    writes = sum(1 for r in history.records(start + 1) for op in r.ops
                 if op.type == "put" and op.key[:2] == ("", "Pod"))
    assert at_start and writes  # pods existed at the start and were written later
    assert result.violation is None and result.evaluations == len(seen) == at_start + writes


@pytest.mark.parametrize("args, message", [
    (("--kind", "Widget"), 'error: --kind Widget: the server doesn\'t have a resource type "Widget"'),
    (("--kind", "Deployment", "--from", "100000"), "error: --from 100000: there is no revision 100000 (the history")])
def test_a_usage_mistake_exits_2_not_1_which_says_the_invariant_fails(scaled_to_zero, args, message):
    cwd, _ = scaled_to_zero
    proc = recon("check", "--invariant", "it.spec.replicas >= 0", *args, "--state", "s", cwd=cwd, check=2)
    assert proc.stderr.startswith(message) and proc.stdout == ""


def test_a_builtin_failing_on_the_values_it_meets_is_a_failing_invariant_not_a_traceback(scaled_to_zero):
    cwd, _ = scaled_to_zero
    proc = recon("check", "--invariant", 'split(it.spec.replicas) == ["3"]', "--kind", "Deployment",
                 "--state", "s", cwd=cwd, check=1)
    first = proc.stdout.splitlines()[0]
    assert first.startswith("invariant fails at revision ") and "cannot be evaluated: " in first
    assert "Traceback" not in proc.stderr


def test_kind_may_be_given_as_the_rule_languages_group_and_kind(scaled_to_zero):
    cwd, edit = scaled_to_zero
    out = recon("check", "--invariant", "it.spec.replicas > 0", "--kind", "apps/Deployment", "--state", "s",
                cwd=cwd, check=1).stdout.splitlines()
    assert out[0].startswith(f"invariant fails at revision {edit} for deploy/web -n demo")
    err = recon("check", "--invariant", "true", "--kind", "apps/Deploymnet", "--state", "s", cwd=cwd, check=2).stderr
    assert "--kind apps/Deploymnet: no kind 'Deploymnet' in API group 'apps'" in err


@pytest.mark.parametrize("kind, closest", [
    ("WebAp", "WebApp"), ("deploymnt", "Deployment"), ("apps/Deploymnet", "apps/Deployment"),
    ("example.com/WebAp", "example.com/WebApp")])
def test_a_misspelt_kind_is_refused_with_the_closest_kind_as_in_an_expression(scaled_to_zero, kind, closest):
    cwd, _ = scaled_to_zero
    err = recon("check", "--invariant", "true", "--kind", kind, "--state", "s", cwd=cwd, check=2).stderr
    assert err.startswith(f"error: --kind {kind}: ") and err.splitlines()[0].endswith(f"; did you mean {closest}?")


def test_a_kind_like_no_other_is_refused_without_a_suggestion(scaled_to_zero):
    cwd, _ = scaled_to_zero
    err = recon("check", "--invariant", "true", "--kind", "Qzxv", "--state", "s", cwd=cwd, check=2).stderr
    assert err.startswith("error: --kind Qzxv: ") and "did you mean" not in err


def test_a_query_of_a_kind_the_cluster_does_not_serve_is_refused_with_the_closest_kind(scaled_to_zero):
    cwd, _ = scaled_to_zero  # (the example cluster defines the custom kind WebApp)
    proc = recon("check", "--invariant", "count(WebAp) == 0 and Nmespace[\"demo\"] != null", "--state", "s",
                 cwd=cwd, check=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "<invariant>:1:7: unknown kind WebAp: no built-in kind or CustomResourceDefinition in the cluster "
        "defines it: did you mean WebApp?",
        '    count(WebAp) == 0 and Nmespace["demo"] != null',
        "          ^",
        "<invariant>:1:23: unknown kind Nmespace: no built-in kind or CustomResourceDefinition in the cluster "
        "defines it: did you mean Namespace?",
        '    count(WebAp) == 0 and Nmespace["demo"] != null',
        "                          ^"]
    out = recon("check", "--invariant", "count(example.com/WebApp) == 1", "--state", "s", cwd=cwd, check=1).stdout
    assert out.startswith("invariant fails at revision 1: ")  # (the kind is known: no WebApp until its manifest)
