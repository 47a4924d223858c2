"""Shared fixtures: a real redis-server on a free loopback port, fixture paths."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("redis-server did not start")


def _cli(port: int, *args: str, follow: bool = False) -> str:
    """redis-cli on one port (``follow``: -c, after MOVED and ASK)."""
    return subprocess.run(["redis-cli", *(["-c"] if follow else []), "-p", str(port), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


class _RedisNodes:
    """What the tests ask of a server or a cluster alike: the commands that
    hotpath does not send (PUBLISH, a damaged key) and per-node counters,
    summed over the nodes."""

    ports: list[int]
    cluster = False

    @property
    def port(self) -> int:
        return self.ports[0]

    def cli(self, *args: str) -> str:
        """redis-cli on the first node, following redirects on a cluster."""
        return _cli(self.port, *args, follow=self.cluster)

    def subscribers(self, channel: str) -> int:
        """PUBSUB NUMSUB over every node (a cluster node counts only its own)."""
        n = 0
        for port in self.ports:
            try:
                n += int(_cli(port, "PUBSUB", "NUMSUB", channel).splitlines()[-1])
            except (subprocess.CalledProcessError, ValueError, IndexError):
                pass  # a node that is down has none
        return n

    def command_calls(self, cmd: str) -> int:
        """Calls of ``cmd`` in INFO commandstats, over every node."""
        n = 0
        for port in self.ports:
            for line in _cli(port, "INFO", "commandstats").splitlines():
                if line.startswith(f"cmdstat_{cmd}:"):
                    n += int(line.split("calls=")[1].split(",")[0])
        return n


class RedisServer(_RedisNodes):
    def __init__(self) -> None:
        self.ports = [free_port()]
        self.dir = tempfile.mkdtemp(prefix="hotpath-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisCluster(_RedisNodes):
    """Three redis-server --cluster-enabled yes joined by redis-cli --cluster
    create. stop() kills every node; start() brings them back on their ports
    with their node files (the slot map survives, the keys do not)."""

    cluster = True

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="hotpath-cluster-")
        self.ports = [free_port() for _ in range(3)]
        self.buses = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            self._launch()
            subprocess.run(
                ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
            )
            self._wait_ok()
        except BaseException:
            self.close()
            raise

    def _launch(self) -> None:
        self.procs = [
            subprocess.Popen(
                ["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.dir, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{p}.conf",
                 "--cluster-port", str(bus)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for p, bus in zip(self.ports, self.buses)
        ]
        for p in self.ports:
            wait_port(p)

    def _wait_ok(self) -> None:
        deadline = time.monotonic() + 15
        while not all(self._ok(p) for p in self.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not come up")
            time.sleep(0.05)

    @staticmethod
    def _ok(port: int) -> bool:
        out = subprocess.run(["redis-cli", "-p", str(port), "CLUSTER", "INFO"], check=False, capture_output=True,
                             text=True)
        return "cluster_state:ok" in out.stdout

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self) -> None:
        self._launch()
        self._wait_ok()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# HOTPATH_TEST_REDIS=cluster (make test-cluster): the redis_server fixture
# hands out a 3-master cluster, so every test of a Redis-backed feature runs
# on a cluster too.
CLUSTER_MODE = os.environ.get("HOTPATH_TEST_REDIS") == "cluster"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a cluster run, only the tests that use a Redis fixture."""
    if not CLUSTER_MODE:
        return
    uses_redis = {"redis_server", "redis_cluster"}
    keep = [item for item in items if uses_redis & set(getattr(item, "fixturenames", ()))]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


@pytest.fixture
def redis_server() -> Iterator[RedisServer | RedisCluster]:
    server: RedisServer | RedisCluster = RedisCluster() if CLUSTER_MODE else RedisServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """One cluster for the whole session: tests use keys of their own."""
    cluster = RedisCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    os.makedirs(tmp_path, exist_ok=True)
    return tmp_path
