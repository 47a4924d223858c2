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


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
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


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()


class RedisCluster:
    """Three redis-server --cluster-enabled yes joined by redis-cli --cluster create."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="hotpath-cluster-")
        self.ports = [free_port() for _ in range(3)]
        self.procs = [
            subprocess.Popen(
                ["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.dir, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{p}.conf",
                 "--cluster-port", str(free_port())],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for p in self.ports
        ]
        try:
            for p in self.ports:
                wait_port(p)
            subprocess.run(
                ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
            )
            deadline = time.monotonic() + 10
            while not all(self._ok(p) for p in self.ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("the cluster did not come up")
                time.sleep(0.05)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _ok(port: int) -> bool:
        out = subprocess.run(["redis-cli", "-p", str(port), "CLUSTER", "INFO"], check=False, capture_output=True,
                             text=True)
        return "cluster_state:ok" in out.stdout

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


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
