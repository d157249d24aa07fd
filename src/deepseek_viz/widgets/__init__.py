"""Jupyter widgets (anywidget): each shows one part of a model's insides."""

from .architecture_view import ArchitectureLink, ArchitectureView
from .attention_view import AttentionView
from .attribution_view import AttributionView
from .compare_view import Compare
from .dashboard import Dashboard, TextBox
from .embedding_scatter import EmbeddingScatter, TextViewLink
from .expert_map_view import ExpertMapView, ExpertRoutingLink
from .generation_view import GenerationView
from .intervention_state import Interventions
from .linking import TraitLink, link
from .prediction_view import PredictionView
from .routing_view import RoutingView
from .status import Status
from .sweep_view import SweepLink, SweepView

__all__ = [
    "ArchitectureLink",
    "ArchitectureView",
    "AttentionView",
    "AttributionView",
    "Compare",
    "Dashboard",
    "EmbeddingScatter",
    "ExpertMapView",
    "ExpertRoutingLink",
    "GenerationView",
    "Interventions",
    "PredictionView",
    "RoutingView",
    "Status",
    "SweepLink",
    "SweepView",
    "TextBox",
    "TextViewLink",
    "TraitLink",
    "link",
]
