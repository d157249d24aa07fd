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
from .data import sample_texts
from .export.attribution_figures import global_bar_chart, token_bar_chart
from .export.figures import save_figure, scatter_figure, to_html, to_png, to_svg, token_paths_figure
from .export.projector import read_projector, write_projector
from .export.routing_figures import coactivation_figure, expert_load_figure
from .export.standalone import save_html
from .model import (
    BUNDLED_MODEL,
    AttentionUnavailableError,
    ComputationTimeoutError,
    DeepseekVizError,
    DeviceUnavailableError,
    EmptyTextError,
    HookedModel,
    InvalidTextError,
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
from .widgets import (
    AttentionView,
    AttributionView,
    Dashboard,
    EmbeddingScatter,
    PredictionView,
    RoutingView,
    Status,
    link,
)

__version__ = "0.1.0"

__all__ = [
    "BUNDLED_MODEL",
    "AttentionUnavailableError",
    "AttentionView",
    "AttributionView",
    "ComputationTimeoutError",
    "Continuation",
    "Dashboard",
    "DeepseekVizError",
    "DeviceUnavailableError",
    "EmbeddingScatter",
    "EmptyTextError",
    "Explanation",
    "GlobalImportance",
    "HookedModel",
    "InvalidTextError",
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
    "Status",
    "TextTooLongError",
    "Token",
    "TokenPaths",
    "Trace",
    "TraceOutOfMemoryError",
    "TransformUnavailableError",
    "UnsupportedModelError",
    "Verbalizer",
    "__version__",
    "coactivation_figure",
    "embed_texts",
    "expert_load_figure",
    "explain",
    "global_bar_chart",
    "global_importance",
    "link",
    "load_model",
    "project",
    "project_token_paths",
    "read_projector",
    "routing_statistics",
    "sample_texts",
    "save_figure",
    "save_html",
    "scatter_figure",
    "to_html",
    "to_png",
    "to_svg",
    "token_bar_chart",
    "token_embeddings",
    "token_paths_figure",
    "write_projector",
]
