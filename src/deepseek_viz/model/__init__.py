"""The model core: loading, tracing and the data a trace holds."""

from .errors import (
    AttentionUnavailableError,
    ComputationTimeoutError,
    DeepseekVizError,
    DeviceUnavailableError,
    EmptyTextError,
    InvalidTextError,
    LayerOutOfRangeError,
    ModelLoadError,
    TextTooLongError,
    TraceTooLargeError,
    UnsupportedModelError,
)
from .generation import Generation, GenerationStep
from .hooked_model import HookedModel, TraceOutOfMemoryError
from .interface import ModelInterface
from .interventions import (
    ExpertAblation,
    ExpertForcing,
    ExpertPatch,
    HeadAblation,
    HeadPatch,
    HeadScale,
    Intervention,
    ResidualPatch,
)
from .loading import BUNDLED_MODEL, load_model
from .memory import TraceEstimate
from .structure import AttentionStructure, LayerStructure, MLPStructure, ModelStructure, Part
from .tokens import Token
from .trace import Completion, LogitLens, Prediction, Routing, Trace

__all__ = [
    "BUNDLED_MODEL",
    "AttentionStructure",
    "AttentionUnavailableError",
    "Completion",
    "ComputationTimeoutError",
    "DeepseekVizError",
    "DeviceUnavailableError",
    "EmptyTextError",
    "ExpertAblation",
    "ExpertForcing",
    "ExpertPatch",
    "Generation",
    "GenerationStep",
    "HeadAblation",
    "HeadPatch",
    "HeadScale",
    "HookedModel",
    "Intervention",
    "InvalidTextError",
    "LayerOutOfRangeError",
    "LayerStructure",
    "LogitLens",
    "MLPStructure",
    "ModelInterface",
    "ModelLoadError",
    "ModelStructure",
    "Part",
    "Prediction",
    "ResidualPatch",
    "Routing",
    "TextTooLongError",
    "Token",
    "Trace",
    "TraceEstimate",
    "TraceOutOfMemoryError",
    "TraceTooLargeError",
    "UnsupportedModelError",
    "load_model",
]
