"""A model service for tests: Ray and the Serve application (2 replicas of the bundled model, a token,
their shared cache in a real redis-server of the fixture's own) on a free 127.0.0.1 port, shut down
after the module. Use it with
``from tests.serve_fixtures import service_fixture  # noqa: F401`` (the fixture is ``service``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import ray

from deepseek_viz.model import load_model
from deepseek_viz.serve.calls import ModelCalls, ServiceLimits
from deepseek_viz.serve.service import start_service, stop_service
from tests.redis_server import RedisServer

#: The source folder replicas import the package from (this checkout's, not an installed copy).
SRC = Path(__file__).resolve().parents[1] / "src"
TOKEN = "test-token-0123456789"
#: Small bounds, so tests can go past them cheaply.
LIMITS = ServiceLimits(max_request_bytes=2**20, max_samples=16, max_new_tokens=8, max_seconds=30.0)


@dataclass(frozen=True)
class RunningService:
    """Where the test service listens and what it was started with."""

    url: str
    #: Ray's Prometheus endpoint (our metrics, with Ray's, on this node).
    metrics_url: str
    token: str
    limits: ServiceLimits
    replicas: int
    #: The redis-server the replicas share their cache in.
    redis: RedisServer


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", name="service")
def service_fixture() -> Iterator[RunningService]:
    """The service, running for the module's tests."""
    pythonpath = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, (pythonpath or "").split(os.pathsep))]
    )
    try:  # Ray's workers inherit the environment, so they import this checkout's package
        metrics_port = free_port()
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _metrics_export_port=metrics_port,
        )
    finally:
        if pythonpath is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = pythonpath
    port = free_port()
    with RedisServer() as redis:
        try:
            start_service(
                None, port=port, replicas=2, cpus_per_replica=0.5, token=TOKEN, limits=LIMITS, redis=redis.url
            )
            yield RunningService(
                f"http://127.0.0.1:{port}",
                f"http://127.0.0.1:{metrics_port}/metrics",
                TOKEN,
                LIMITS,
                replicas=2,
                redis=redis,
            )
        finally:
            stop_service()


@pytest.fixture(scope="module", name="local_calls")
def local_calls_fixture() -> ModelCalls:
    """The calls the service answers, in this process (what the service's answers must equal)."""
    return ModelCalls(load_model(device="cpu"), LIMITS)
