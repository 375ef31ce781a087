"""rules/event-ttl.rules: an Event lives one hour after it was last recorded (kube-apiserver --event-ttl),
the time the cluster was stopped not counted."""

from __future__ import annotations

from engine.reconcile import Engine
from engine.rules import load_rules
from engine.timeutil import format_time


def event(c, name, last=None, **extra):
    body = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "demo"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "demo", "name": "p"},
            "reason": "Pulled", "message": "pulled", "type": "Normal", "count": 1, **extra}
    if last is not None:
        body["firstTimestamp"] = body["lastTimestamp"] = format_time(last)
    return c.create(body)


def run_to(c, t):
    """Run the rules with the simulated clock taken to t (wake-ups on the way fire)."""
    c.engine.run(until=t)
    c.clock.advance_to(t)
    c.engine.run(until=t)


def names(c):
    return sorted(e["metadata"]["name"] for e in c.list("Event"))


def test_an_event_is_deleted_an_hour_after_it_was_last_recorded(controller_cluster):
    c = controller_cluster
    c.load("event-ttl")
    start = c.clock.now()
    event(c, "old", last=start)
    run_to(c, start + 3599)
    assert names(c) == ["old"]
    run_to(c, start + 3600)
    assert names(c) == []


def test_recording_an_event_again_renews_its_hour(controller_cluster):
    c = controller_cluster
    c.load("event-ttl")
    start = c.clock.now()
    event(c, "kept", last=start)
    event(c, "gone", last=start)
    run_to(c, start + 1800)
    c.patch("Event", "kept", {"count": 2, "lastTimestamp": format_time(c.clock.now())})
    run_to(c, start + 3600)
    assert names(c) == ["kept"]  # recorded again at 30 min: lives until 1 h 30
    run_to(c, start + 5399)
    assert names(c) == ["kept"]
    run_to(c, start + 5400)
    assert names(c) == []


def test_an_event_without_last_timestamp_counts_from_its_series_last_observed_time(controller_cluster):
    c = controller_cluster
    c.load("event-ttl")
    start = c.clock.now()
    event(c, "series", eventTime=format_time(start).replace("Z", ".000000Z"), reportingComponent="x",
          reportingInstance="x-1", action="Pull",
          series={"count": 3, "lastObservedTime": format_time(start + 1200).replace("Z", ".000000Z")})
    run_to(c, start + 3600 + 1199)
    assert names(c) == ["series"]
    run_to(c, start + 3600 + 1200)
    assert names(c) == []


def restart(c):
    """A new run of the cluster on the same state (a new process): a new engine, started now."""
    c.engine = Engine(c.api, load_rules(c.tmp_path / "rules"), c.clock)


def test_the_time_the_cluster_was_stopped_does_not_count(controller_cluster):
    c = controller_cluster
    c.load("event-ttl")
    start = c.clock.now()
    event(c, "old", last=start)
    run_to(c, start + 1800)  # stopped half an hour after the Event, for a day
    c.clock.advance_to(start + 1800 + 86400)
    restart(c)
    again = c.clock.now()
    c.engine.run(until=again)
    assert names(c) == ["old"]  # as etcd gives its lease a full TTL when it restarts
    run_to(c, again + 3599)
    assert names(c) == ["old"]
    run_to(c, again + 3600)
    assert names(c) == []


def test_an_event_recorded_after_the_start_lives_its_hour_from_then(controller_cluster):
    c = controller_cluster
    c.load("event-ttl")
    start = c.clock.now()
    c.clock.advance_to(start + 86400)
    restart(c)
    again = c.clock.now()
    event(c, "new", last=again + 600)
    run_to(c, again + 4199)
    assert names(c) == ["new"]
    run_to(c, again + 4200)
    assert names(c) == []
