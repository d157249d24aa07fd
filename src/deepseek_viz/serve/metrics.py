"""The model service's own metrics, beside Ray's: exported by Ray's Prometheus endpoint (with Ray's
``ray_`` prefix; Serve adds the deployment, replica and application tags).

The names are fixed (the Grafana dashboard in ``deploy/`` reads them): ``dsv_request_seconds``
(histogram, tag ``call``), ``dsv_requests_total`` (counter, tags ``call``, ``status``),
``dsv_queue_depth`` (gauge: requests in progress on a replica), ``dsv_batch_size`` (histogram),
``dsv_cache_hits_total`` / ``dsv_cache_misses_total`` (counters, tag ``tier``) and
``dsv_device_memory_bytes`` (gauge, tag ``device``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from ray.serve import metrics

#: Request latency buckets, seconds: a cached read (milliseconds) up to a long generation.
LATENCY_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]
#: Batch size buckets (requests merged into one model call).
BATCH_BOUNDARIES = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]


class ServiceMetrics:
    """The metrics of one replica (made inside it: Ray's metrics belong to the process that records)."""

    def __init__(self) -> None:
        self.request_seconds = metrics.Histogram(
            "dsv_request_seconds",
            description="Seconds from a request's arrival to its answer, by call.",
            boundaries=LATENCY_BOUNDARIES,
            tag_keys=("call",),
        )
        self.requests = metrics.Counter(
            "dsv_requests_total",
            description="Requests answered, by call and HTTP status.",
            tag_keys=("call", "status"),  # type: ignore[arg-type]  # Ray annotates a 1-tuple
        )
        self.queue_depth = metrics.Gauge(
            "dsv_queue_depth", description="Requests in progress or waiting on this replica."
        )
        self.batch_size = metrics.Histogram(
            "dsv_batch_size",
            description="Requests merged into one model call.",
            boundaries=BATCH_BOUNDARIES,
        )
        self.cache_hits = metrics.Counter(
            "dsv_cache_hits_total", description="Answers read from the cache, by tier.", tag_keys=("tier",)
        )
        self.cache_misses = metrics.Counter(
            "dsv_cache_misses_total",
            description="Cache look-ups that found nothing, by tier.",
            tag_keys=("tier",),
        )
        self.device_memory = metrics.Gauge(
            "dsv_device_memory_bytes",
            description="Bytes of device memory held by the model's tensors, by device.",
            tag_keys=("device",),
        )
        self._in_progress = 0
        self._cache_seen: dict[tuple[str, str], int] = {}

    def started(self) -> None:
        """A request arrived (the queue depth goes up)."""
        self._in_progress += 1
        self.queue_depth.set(self._in_progress)

    def finished(self, call: str, status: int, seconds: float) -> None:
        """A request was answered with ``status`` after ``seconds``."""
        self._in_progress -= 1
        self.queue_depth.set(self._in_progress)
        self.requests.inc(tags={"call": call, "status": str(status)})
        self.request_seconds.observe(seconds, tags={"call": call})
        self.record_device_memory()

    def batched(self, size: int) -> None:
        """``size`` requests ran as one model call."""
        self.batch_size.observe(size)

    def cache_counts(self, stats: Mapping[str, Mapping[str, Any]]) -> None:
        """Count the hits and misses per tier since the last call, from the cache's running totals
        (``ResponseCache.stats()``: ``{tier: {"hits": n, "misses": n, …}}``)."""
        for tier, counts in stats.items():
            for name, counter in (("hits", self.cache_hits), ("misses", self.cache_misses)):
                total = int(counts.get(name, 0))
                new = total - self._cache_seen.get((tier, name), 0)
                if new > 0:
                    counter.inc(new, tags={"tier": tier})
                self._cache_seen[(tier, name)] = total

    def record_device_memory(self) -> None:
        """The memory PyTorch holds on each CUDA device (nothing is recorded on a CPU-only replica)."""
        if not torch.cuda.is_available():
            return
        for index in range(torch.cuda.device_count()):
            self.device_memory.set(torch.cuda.memory_allocated(index), tags={"device": f"cuda:{index}"})
