"""Errors raised by deepseek-viz: each says what went wrong and what to do instead."""

from __future__ import annotations


class DeepseekVizError(Exception):
    """Base class of every error deepseek-viz raises on purpose."""


class ModelLoadError(DeepseekVizError):
    """A checkpoint could not be found or loaded."""


class DeviceUnavailableError(DeepseekVizError):
    """The requested device (e.g. ``cuda``) is not present on this machine."""


class EmptyTextError(DeepseekVizError, ValueError):
    """The text to trace is empty (or only whitespace)."""


class InvalidTextError(DeepseekVizError, ValueError):
    """The text cannot be tokenized (e.g. it holds a lone UTF-16 surrogate)."""


class TextTooLongError(DeepseekVizError, ValueError):
    """The text has more tokens than the model's configured limit."""

    def __init__(self, num_tokens: int, max_tokens: int) -> None:
        super().__init__(
            f"the text is {num_tokens} tokens long; the limit is {max_tokens}. "
            "Shorten it, pass truncate=True to keep the first tokens, or raise max_tokens."
        )
        self.num_tokens = num_tokens
        self.max_tokens = max_tokens


class LayerOutOfRangeError(DeepseekVizError, IndexError):
    """A layer (or head) index is outside the model, or its data was not captured."""


class AttentionUnavailableError(DeepseekVizError):
    """The model's attention does not go through a function deepseek-viz can observe."""


class UnsupportedModelError(DeepseekVizError):
    """The model is not a decoder-only language model with the layout deepseek-viz reads."""


class TraceTooLargeError(DeepseekVizError, MemoryError):
    """A trace would need more memory than the model's budget (``HookedModel.memory_budget``); refused
    before any work started."""


class ComputationTimeoutError(DeepseekVizError, TimeoutError):
    """Model work ran past the time limit set for it (``HookedModel.max_seconds`` or ``time_limit``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"stopped after {seconds:g} s, the time limit for one request: shorten the text "
            "or ask for less (fewer layers, fewer sampling steps)."
        )
        self.seconds = seconds
