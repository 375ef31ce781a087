"""reconcile.touched_keys: the dependency keys a change touches, for the engine's routing and the scheduler's caches."""

from __future__ import annotations

from engine.objects import freeze, set_path
from engine.reconcile import change_keys, touched_keys
from engine.store import Event

KEY = ("", "Pod", "demo", "p")
POD = freeze({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "demo", "uid": "u1", "labels": {"app": "a"},
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs1"}]},
    "spec": {"nodeName": "n1"},
    "status": {"phase": "Pending"},
})


def both(old, new) -> frozenset:
    return frozenset(change_keys(KEY, old)) | frozenset(change_keys(KEY, new))


def test_every_change_touches_what_either_version_is_found_by():
    changes = [
        (None, POD),  # created
        (POD, None),  # deleted
        (POD, set_path(POD, ("status", "phase"), "Running")),  # status only: the same parts
        (POD, set_path(POD, ("metadata", "labels", "app"), "b")),  # relabelled
        (POD, set_path(POD, ("spec", "nodeName"), "n2")),  # moved
        (POD, set_path(POD, ("metadata", "ownerReferences"), [])),  # orphaned
        (POD, set_path(POD, ("metadata", "uid"), "u2")),  # made again under the name
    ]
    for revision, (old, new) in enumerate(changes, 1):
        event = Event("MODIFIED", KEY, old, new, revision)
        assert touched_keys(event) == both(old, new), (old, new)
    relabelled = touched_keys(Event("MODIFIED", KEY, POD, set_path(POD, ("metadata", "labels", "app"), "b"), 9))
    assert ("label", "", "Pod", "demo", "app", "a") in relabelled  # (the old label's readers too)
    assert ("label", "", "Pod", "demo", "app", "b") in relabelled


def test_the_keys_of_one_event_are_found_once_and_handed_to_every_asker():
    event = Event("MODIFIED", KEY, POD, set_path(POD, ("status", "phase"), "Running"), 1)
    assert touched_keys(event) is touched_keys(event)
    again = Event("MODIFIED", KEY, POD, set_path(POD, ("status", "phase"), "Running"), 1)
    assert touched_keys(again) == touched_keys(event)


def test_a_version_holding_the_parts_of_the_last_one_seen_has_its_keys_and_no_other_does():
    # the keys of the last version seen per object are kept with the parts they came from; a
    # chain of versions, each checked against change_keys made afresh
    versions = [POD]
    for path, value in ((("status", "phase"), "Running"), (("metadata", "labels", "app"), "b"),
                        (("status", "phase"), "Succeeded"), (("spec", "nodeName"), "n2"),
                        (("metadata", "uid"), "u2"), (("metadata", "labels"), {"app": "b"}),
                        (("metadata", "ownerReferences"), []), (("spec", "nodeName"), "n1")):
        versions.append(set_path(versions[-1], path, value))
    for revision, (old, new) in enumerate(zip(versions, versions[1:]), 1):
        assert touched_keys(Event("MODIFIED", KEY, old, new, revision)) == both(old, new)
        assert touched_keys(Event("ADDED", KEY, None, new, revision)) == both(None, new)
    going_back = [(versions[5], versions[1]), (versions[8], versions[0])]  # older parts again
    for revision, (old, new) in enumerate(going_back, 20):
        assert touched_keys(Event("MODIFIED", KEY, old, new, revision)) == both(old, new)
