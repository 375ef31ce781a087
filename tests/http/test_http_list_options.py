"""A list's, a get's and a watch's resourceVersion and resourceVersionMatch, as upstream reads them.

Unparsable versions are refused with the storage layer's words; a version the store has not
reached yet is upstream's 504 Too large resource version; `resourceVersionMatch=Exact` (and a
limit with a version, upstream's older way of asking) lists the state as it was at that revision,
410 once it left the store's window; the options are validated as ListOptions; a watch with
`sendInitialEvents=true` sends the state, then a bookmark annotated `k8s.io/initial-events-end`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))
from apiserver_fixtures import ADMIN, make_server, pod  # noqa: E402

from engine.api.auth import MASTERS, User
from engine.api.resources import get, list_objects, parse_path
from engine.apierrors import APIError
from engine.apiserver import APIServer
from engine.clock import SimClock
from engine.store import Store

ROOT = User("admin", (MASTERS,))


def _target(api, path: str):
    return parse_path(api.registry, path.strip("/").split("/"))


def _names(items) -> list[str]:
    return [obj["metadata"]["name"] for obj in items]


@pytest.fixture
def api():
    api = make_server()
    api.create(ADMIN, pod("a"))
    return api


def _refused(fn, *args) -> APIError:
    with pytest.raises(APIError) as caught:
        fn(*args)
    return caught.value


@pytest.mark.parametrize("value, why", [
    ("abc", 'parsing "abc": invalid syntax'),
    ("-1", 'parsing "-1": invalid syntax'),
    ("+5", 'parsing "+5": invalid syntax'),
    ("18446744073709551616", 'parsing "18446744073709551616": value out of range'),
])
def test_an_unparsable_resource_version_is_a_bad_request_in_the_storage_layers_words(api, value, why):
    target = _target(api, "api/v1/namespaces/default/pods")
    error = _refused(list_objects, api, ROOT, target, {"resourceVersion": value})
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: {why}'
    one = _target(api, "api/v1/namespaces/default/pods/a")
    assert _refused(get, api, ROOT, one, {"resourceVersion": value}).message == error.message


def test_a_resource_version_the_store_has_not_reached_is_upstreams_504(api):
    head = api.store.visible.revision
    for fn, path in ((list_objects, "api/v1/namespaces/default/pods"), (get, "api/v1/namespaces/default/pods/a")):
        error = _refused(fn, api, ROOT, _target(api, path), {"resourceVersion": str(head + 1)})
        assert (error.code, error.reason) == (504, "Timeout")
        assert error.message == f"Timeout: Too large resource version: {head + 1}, current: {head}"
        status = error.status()
        assert status["details"]["causes"] == [{"reason": "ResourceVersionTooLarge",
                                                "message": "Too large resource version"}]
        assert status["details"]["retryAfterSeconds"] == 1


def test_a_resource_version_already_reached_reads_the_newest_state(api):
    target = _target(api, "api/v1/namespaces/default/pods")
    before = api.store.visible.revision
    api.create(ADMIN, pod("b"))
    items, meta = list_objects(api, ROOT, target, {"resourceVersion": str(before)})
    assert _names(items) == ["a", "b"]
    assert meta["resourceVersion"] == str(api.store.visible.revision)
    obj = get(api, ROOT, _target(api, "api/v1/namespaces/default/pods/b"), {"resourceVersion": str(before)})
    assert obj["metadata"]["name"] == "b"


def test_an_exact_list_is_the_state_at_that_revision(api):
    target = _target(api, "api/v1/namespaces/default/pods")
    then = api.store.visible.revision
    api.create(ADMIN, pod("b"))
    api.delete(ADMIN, "", "Pod", "default", "a")
    items, meta = list_objects(api, ROOT, target, {"resourceVersion": str(then), "resourceVersionMatch": "Exact"})
    assert _names(items) == ["a"]
    assert meta["resourceVersion"] == str(then)
    items, _meta = list_objects(api, ROOT, target, {"resourceVersion": str(then), "resourceVersionMatch": "NotOlderThan"})
    assert _names(items) == ["b"]


def test_a_limit_with_a_resource_version_lists_exactly_that_revision_and_pages_on_from_it(api):
    target = _target(api, "api/v1/namespaces/default/pods")
    api.create(ADMIN, pod("b"))
    then = api.store.visible.revision
    api.create(ADMIN, pod("c"))
    items, meta = list_objects(api, ROOT, target, {"resourceVersion": str(then), "limit": "1"})
    assert _names(items) == ["a"] and meta["resourceVersion"] == str(then)
    items, meta = list_objects(api, ROOT, target, {"continue": meta["continue"], "limit": "5"})
    assert _names(items) == ["b"]  # (c came later than the list's revision)


def test_an_exact_list_of_a_revision_that_left_the_window_is_gone():
    api = APIServer(Store(window=3), SimClock(), seed="recon")
    api.bootstrap()
    api.create(ADMIN, pod("a"))
    then = api.store.visible.revision
    for name in "bcdef":
        api.create(ADMIN, pod(name))
    target = _target(api, "api/v1/namespaces/default/pods")
    error = _refused(list_objects, api, ROOT, target, {"resourceVersion": str(then), "resourceVersionMatch": "Exact"})
    assert (error.code, error.reason, error.message) == (410, "Expired", "The resourceVersion for the provided list is too old.")


@pytest.mark.parametrize("query, message", [
    ({"resourceVersionMatch": "Exact"},
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
    ({"resourceVersion": "1", "resourceVersionMatch": "Newest"},
     'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'),
    ({"resourceVersion": "0", "resourceVersionMatch": "Exact"},
     'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    ({"sendInitialEvents": "true"}, "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
])
def test_list_options_are_validated_as_upstreams_list_options(api, query, message):
    error = _refused(list_objects, api, ROOT, _target(api, "api/v1/pods"), query)
    assert (error.code, error.reason) == (422, "Invalid")
    assert error.message == f'ListOptions.meta.k8s.io "" is invalid: {message}'
    assert error.status()["details"]["group"] == "meta.k8s.io"
    assert error.status()["details"]["kind"] == "ListOptions"


def test_a_continue_token_with_a_resource_version_is_refused(api):
    api.create(ADMIN, pod("b"))
    target = _target(api, "api/v1/namespaces/default/pods")
    _items, meta = list_objects(api, ROOT, target, {"limit": "1"})
    error = _refused(list_objects, api, ROOT, target, {"continue": meta["continue"], "resourceVersion": "1"})
    assert (error.code, error.message) == (400, "specifying resource version is not allowed when using continue")


# ----------------------------------------------------------------- over HTTP (a live server)


def _lines(live, path: str) -> tuple[int, list[dict]]:
    code, _headers, text = live.request("GET", path)
    return code, [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_watch_with_send_initial_events_sends_the_state_then_the_end_bookmark(live):
    code, events = _lines(live, "/api/v1/namespaces/default/services?watch=true&sendInitialEvents=true"
                                "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1")
    assert code == 200
    added = [e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"]
    _code, _h, listed = live.request("GET", "/api/v1/namespaces/default/services")
    assert sorted(added) == sorted(s["metadata"]["name"] for s in json.loads(listed)["items"])
    first_bookmark = next(i for i, e in enumerate(events) if e["type"] == "BOOKMARK")
    assert first_bookmark == len(added)  # (right after the state)
    end = events[first_bookmark]["object"]
    assert end["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert end["kind"] == "Service"
    assert int(end["metadata"]["resourceVersion"]) >= max(
        int(e["object"]["metadata"]["resourceVersion"]) for e in events if e["type"] == "ADDED")


def test_a_watch_with_send_initial_events_false_sends_no_state(live):
    code, events = _lines(live, "/api/v1/namespaces/default/services?watch=true&sendInitialEvents=false"
                                "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
    assert code == 200 and [e for e in events if e["type"] == "ADDED"] == []


@pytest.mark.parametrize("query, message", [
    ("sendInitialEvents=true", "resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
                               "resourceVersionMatch to NotOlderThan"),
    ("resourceVersionMatch=NotOlderThan", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
                                          "for watch unless sendInitialEvents is provided"),
])
def test_a_watchs_options_are_validated_as_upstreams(live, query, message):
    code, _headers, text = live.request("GET", f"/api/v1/pods?watch=true&timeoutSeconds=1&{query}")
    assert code == 422
    assert json.loads(text)["message"] == f'ListOptions.meta.k8s.io "" is invalid: {message}'


def test_kubectl_shows_the_refusals(live):
    proc = live.kubectl("get", "--raw", "/api/v1/pods?resourceVersion=abc", check=1)
    assert 'resourceVersion: Invalid value: "abc"' in proc.stderr
    proc = live.kubectl("get", "--raw", "/api/v1/pods?resourceVersion=999999999", check=1)
    assert "Too large resource version: 999999999" in proc.stderr
