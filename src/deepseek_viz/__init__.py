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
from .analysis.embeddings import TokenPaths, embed_texts, token_embeddings
from .analysis.projection import Projection, TransformUnavailableError, project, project_token_paths
from .analysis.routing_stats import RoutingStatistics, routing_statistics
from .export.figures import scatter_figure, to_html, to_png, token_paths_figure
from .export.projector import read_projector, write_projector
from .model import (
    BUNDLED_MODEL,
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
from .widgets import AttentionView, AttributionView, EmbeddingScatter, PredictionView, RoutingView, link

__version__ = "0.1.0"

__all__ = [
    "BUNDLED_MODEL",
    "AttentionUnavailableError",
    "AttentionView",
    "AttributionView",
    "Continuation",
    "DeepseekVizError",
    "DeviceUnavailableError",
    "EmbeddingScatter",
    "EmptyTextError",
    "Explanation",
    "GlobalImportance",
    "HookedModel",
    "LayerOutOfRangeError",
    "LogitLens",
    "ModelLoadError",
    "NextToken",
    "Prediction",
    "PredictionView",
    "Projection",
    "Routing",
    "RoutingStatistics",
    "RoutingView",
    "TextTooLongError",
    "Token",
    "TokenPaths",
    "Trace",
    "TraceOutOfMemoryError",
    "TransformUnavailableError",
    "UnsupportedModelError",
    "Verbalizer",
    "__version__",
    "embed_texts",
    "explain",
    "global_importance",
    "link",
    "load_model",
    "project",
    "project_token_paths",
    "read_projector",
    "routing_statistics",
    "scatter_figure",
    "to_html",
    "to_png",
    "token_embeddings",
    "token_paths_figure",
    "write_projector",
]
