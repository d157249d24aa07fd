"""What a trace will hold, known before it is run, and how much memory there is to hold it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

#: Share of the free memory a trace may not use by default (for the model's own activations and others).
FREE_MEMORY_MARGIN = 0.2


def format_bytes(count: float) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class TraceEstimate:
    """The bytes a trace of ``tokens`` tokens holds, by part, and the peak working memory of capturing
    one layer (freed again before the next). ``kept`` is what :attr:`Trace.nbytes` will report."""

    tokens: int
    layers: int  # layers whose full patterns are kept
    patterns: int
    thumbnails: int
    head_scores: int
    hidden: int
    routing: int
    working: int
    arguments: int = 0  # what the layers were called with (position ids and embeddings, a mask), kept once

    @property
    def kept(self) -> int:
        """Bytes the finished trace holds."""
        return (
            self.patterns + self.thumbnails + self.head_scores + self.hidden + self.routing + self.arguments
        )

    @property
    def total(self) -> int:
        """Most bytes the trace needs at once: what it keeps plus one layer's working memory."""
        return self.kept + self.working

    def __str__(self) -> str:
        parts = [
            f"patterns {format_bytes(self.patterns)} ({self.layers} layers)",
            f"thumbnails {format_bytes(self.thumbnails + self.head_scores)}",
            f"hidden states {format_bytes(self.hidden + self.arguments)}",
            f"routing {format_bytes(self.routing)}",
            f"working {format_bytes(self.working)}",
        ]
        return f"a trace of {self.tokens} tokens needs {format_bytes(self.total)}: {', '.join(parts)}"


def _available_system_memory() -> int:
    """Available RAM: psutil's figure where it is installed, else ``MemAvailable`` of /proc/meminfo."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise OSError("cannot tell the available memory: no psutil and no MemAvailable in /proc/meminfo")


def free_memory(device: torch.device) -> int:
    """Bytes free on ``device`` (CUDA: ``torch.cuda.mem_get_info``; otherwise available system RAM),
    less :data:`FREE_MEMORY_MARGIN` of it."""
    free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else _available_system_memory()
    return int(free * (1 - FREE_MEMORY_MARGIN))
