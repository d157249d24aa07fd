"""deepseek-viz: Jupyter widgets that show what happens inside DeepSeek language models."""

from .analysis.attribution import (
    Continuation,
    Explanation,
    GlobalImportance,
    NextToken,
    Verbalizer,
    explain,
    global_importance,
)
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
    "Continuation",
    "DeepseekVizError",
    "DeviceUnavailableError",
    "EmptyTextError",
    "Explanation",
    "GlobalImportance",
    "HookedModel",
    "LayerOutOfRangeError",
    "LogitLens",
    "ModelLoadError",
    "NextToken",
    "Prediction",
    "Routing",
    "TextTooLongError",
    "Token",
    "Trace",
    "TraceOutOfMemoryError",
    "UnsupportedModelError",
    "Verbalizer",
    "__version__",
    "explain",
    "global_importance",
    "load_model",
]
