"""The history commands name an object by its kind after its CRD is gone, as `recon get --at` does."""

from __future__ import annotations

import pytest

from engine.history import History

from history_helpers import ADMIN, in_process

CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
HELLO = ("example.com", "WebApp", "demo", "hello")


@pytest.fixture
def crd_deleted(recording):
    """The example cluster, then its WebApp CRD deleted (as `kubectl delete crd webapps.example.com`)."""
    recording.api.delete(ADMIN, *CRD, None, "webapps.example.com")
    recording.run()
    assert not list(recording.store.head.keys(*CRD, None))
    return recording


def test_history_explain_and_describe_name_an_object_whose_crd_was_deleted_later(crd_deleted):
    state, cwd = str(crd_deleted.state), crd_deleted.state.parent
    created = History.open(state).revisions_of(HELLO)[0]
    out = in_process("history", "webapp/hello", "-n", "demo", "--state", state, cwd=cwd).stdout
    assert out.splitlines()[0].split()[0] == str(created) and "+webapp/hello" in out
    out = in_process("explain", "webapp/hello", "spec.replicas", "-n", "demo", "--at", str(created),
                     "--state", state, cwd=cwd).stdout
    assert out.startswith("webapp/hello spec.replicas = 2\n")
    out = in_process("describe", "webapp", "hello", "-n", "demo", "--at", str(created), "--state", state,
                     cwd=cwd).stdout
    assert out.startswith("Name:         hello\n")


@pytest.mark.parametrize("kind", ["WebApp", "webapps", "example.com/WebApp"])
def test_check_evaluates_the_objects_of_a_kind_whose_crd_was_deleted_later(crd_deleted, kind):
    state, cwd = str(crd_deleted.state), crd_deleted.state.parent
    fails = in_process("check", "--kind", kind, "--invariant", "it.spec.replicas > 2", "--state", state,
                       cwd=cwd, check=1).stdout
    assert fails.startswith("invariant fails at revision ") and "for webapp/hello -n demo" in fails.splitlines()[0]
    holds = in_process("check", "--kind", kind, "--invariant", "it.spec.replicas == 2", "--state", state,
                       cwd=cwd).stdout
    assert holds.startswith("invariant holds for every WebApp in revisions 1..")
