"""A recorded history: the example manifests run with the shipped rules into a state folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.cluster import Cluster
from engine.wal import open_store

from history_helpers import REPO



class Recording:
    """A cluster on a state folder that checkpoints often, and every snapshot that was live."""

    def __init__(self, tmp_path: Path):
        self.state = tmp_path / "state"
        self.manifests = tmp_path / "manifests"
        shutil.copytree(REPO / "manifests", self.manifests)
        self.store = open_store(self.state, checkpoint_every=10, checkpoint_ratio=0)
        self.live = {self.store.revision: self.store.head}
        self.store.listeners.append(lambda snap, _events, _record: self.live.__setitem__(snap.revision, snap))
        self.cluster = Cluster(self.store, REPO / "rules", simulated=True)
        self.api = self.cluster.api

    def sync(self, seconds: float = 600):
        result, run = self.cluster.sync(self.manifests, self.cluster.clock.now() + seconds)
        assert not result.errors and run.converged, (result.errors, run.message)
        return run

    def run(self, seconds: float = 600):
        return self.cluster.engine.run(until=self.cluster.clock.now() + seconds)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.manifests / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def recording(tmp_path):
    rec = Recording(tmp_path)
    rec.sync()
    yield rec
    rec.close()
