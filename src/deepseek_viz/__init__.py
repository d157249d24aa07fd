"""deepseek-viz: Jupyter widgets that show what happens inside DeepSeek language models."""

from .model import (
    AttentionUnavailableError,
    DeepseekVizError,
    DeviceUnavailableError,
    EmptyTextError,
    HookedModel,
    LayerOutOfRangeError,
    LogitLens,
    ModelLoadError,
    Prediction,
    Routing,
    TextTooLongError,
    Token,
    Trace,
    TraceOutOfMemoryError,
    UnsupportedModelError,
    load_model,
)

__version__ = "0.1.0"

__all__ = [
    "AttentionUnavailableError",
    "DeepseekVizError",
    "DeviceUnavailableError",
    "EmptyTextError",
    "HookedModel",
    "LayerOutOfRangeError",
    "LogitLens",
    "ModelLoadError",
    "Prediction",
    "Routing",
    "TextTooLongError",
    "Token",
    "Trace",
    "TraceOutOfMemoryError",
    "UnsupportedModelError",
    "__version__",
    "load_model",
]
