"""A private redis-server on a free port, for tests (never the machine's shared one)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, workdir: Path, appendonly: bool = False, port: int | None = None, extra_args: tuple = ()):
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed: run `apt-get install redis-server` (.ci/run does)")
        self.binary = binary
        self.workdir = workdir
        self.appendonly = appendonly
        self.extra_args = list(extra_args)
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start (or restart on the same port). A free port can be taken by a parallel test
        process between choosing it and binding it: a server that exits at once gets another."""
        for _ in range(5):
            if self._start_once():
                self._fixed_port = True          # a restart keeps the port: clients know this one
                return self
            if self._fixed_port:
                break
            self.port = free_port()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _start_once(self) -> bool:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
                "--save", "", "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always", *self.extra_args]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if client.info("server")["process_id"] == self.process.pid:   # ours, not a neighbour's
                    return True
            except redis.ConnectionError:
                time.sleep(0.02)
        self.kill()
        return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)
