"""recon describe for Jobs and CronJobs: kubectl's DescribeJob / DescribeCronJob fields."""

from __future__ import annotations

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.describe import describe
from engine.store import Store
from engine.timeutil import format_time

ADMIN = Actor("admin", "user", None)
TEMPLATE = {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}}


def cluster():
    clock = SimClock()
    store = Store(clock=clock.now)
    api = APIServer(store, clock)
    api.bootstrap()
    api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    return clock, store, api


def fields(page: str) -> dict:
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in page.splitlines()
            if ":" in line and not line.startswith(" ")}


def test_describe_job_shows_its_counts_times_and_pod_statuses():
    clock, store, api = cluster()
    job = api.create(ADMIN, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "demo"},
                             "spec": {"backoffLimit": 4, "template": TEMPLATE}})
    start = clock.now()
    clock.advance(27)
    status = {"startTime": format_time(start), "completionTime": format_time(clock.now()), "succeeded": 1,
              "ready": 0, "conditions": [{"type": "Complete", "status": "True"}]}
    api.update(ADMIN, {**job, "status": status}, subresource="status")
    got = fields(describe(store.head, ("batch", "Job", "demo", "pi")))
    assert got["Selector"] == f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"
    assert (got["Parallelism"], got["Completions"], got["Completion Mode"]) == ("1", "1", "NonIndexed")
    assert (got["Suspend"], got["Backoff Limit"], got["Duration"]) == ("False", "4", "27s")
    assert got["Pods Statuses"] == "0 Active (0 Ready) / 1 Succeeded / 0 Failed"
    assert got["Start Time"] == format_time(start)


def test_describe_cronjob_shows_its_schedule_policies_and_active_jobs():
    _clock, store, api = cluster()
    api.create(ADMIN, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "demo"},
                       "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
                                "jobTemplate": {"spec": {"template": TEMPLATE}}}})
    page = describe(store.head, ("batch", "CronJob", "demo", "tick"))
    got = fields(page)
    assert (got["Schedule"], got["Concurrency Policy"], got["Suspend"]) == ("*/5 * * * *", "Forbid", "False")
    assert (got["Successful Job History Limit"], got["Failed Job History Limit"]) == ("3", "1")
    assert got["Last Schedule Time"] == "<unset>" and got["Active Jobs"] == "<none>"
    assert "    Image:        perl:5.34" in page.splitlines()


def test_describe_indexed_job_shows_its_completed_indexes_capped_as_kubectl_does():
    _clock, store, api = cluster()
    spec = {"completions": 200, "parallelism": 3, "completionMode": "Indexed", "template": TEMPLATE}
    job = api.create(ADMIN, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "idx", "namespace": "demo"},
                             "spec": spec})
    got = fields(describe(store.head, ("batch", "Job", "demo", "idx")))
    assert (got["Completion Mode"], got["Completed Indexes"]) == ("Indexed", "<none>")
    indexes = ",".join(str(i) for i in range(0, 80, 2))  # "0,2,4,…": cut at the first comma from 50 characters on
    api.update(ADMIN, {**job, "status": {"completedIndexes": indexes, "succeeded": 40}}, subresource="status")
    got = fields(describe(store.head, ("batch", "Job", "demo", "idx")))
    assert got["Completed Indexes"] == indexes[:indexes.index(",", 50) + 1] + "..."
    assert got["Completed Indexes"].startswith("0,2,4,") and got["Completed Indexes"].endswith(",...")


def test_describe_non_indexed_job_has_no_completed_indexes_line():
    _clock, store, api = cluster()
    api.create(ADMIN, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "demo"},
                       "spec": {"template": TEMPLATE}})
    assert "Completed Indexes" not in describe(store.head, ("batch", "Job", "demo", "pi"))
