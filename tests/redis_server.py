"""A real ``redis-server`` for tests: on a free 127.0.0.1 port, in a temporary folder, no persistence.

``make setup`` installs the Debian package; a test that needs the server fails (never skips) without it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest
import redis

_START_SECONDS = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process: ``start()``, ``kill()`` (as a crash would) and ``stop()``.

    The port stays the same across restarts, so clients given :attr:`url` find it again. Memory is
    bounded (64 MB, all keys LRU) and nothing is saved to disk.
    """

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail("redis-server is not installed: run `make setup` (it installs the Debian package)")
        self.executable = executable
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = tempfile.TemporaryDirectory(prefix="dsv-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """The server's log file."""
        return Path(self._folder.name) / "redis.log"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": self._folder.name,
            "logfile": str(self.log),
            "save": "",
            "appendonly": "no",
            "maxmemory": "64mb",
            "maxmemory-policy": "allkeys-lru",
        }
        arguments = [item for name, value in options.items() for item in (f"--{name}", value)]
        self._process = subprocess.Popen(
            [self.executable, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + _START_SECONDS
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"redis-server exited at start:\n{self._log_tail()}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(
                            f"redis-server did not answer within {_START_SECONDS:g} s:\n{self._log_tail()}"
                        ) from None
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """End the server at once with SIGKILL, as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def client(self) -> redis.Redis:
        """A Redis client for this server (close it after use)."""
        return redis.Redis.from_url(self.url)

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        self._folder.cleanup()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _log_tail(self) -> str:
        """The last lines of the server's log, for an error message."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
