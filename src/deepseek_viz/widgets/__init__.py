"""Jupyter widgets (anywidget): each shows one part of a model's insides."""

from .attention_view import AttentionView
from .attribution_view import AttributionView
from .embedding_scatter import EmbeddingScatter, TextViewLink
from .linking import TraitLink, link
from .prediction_view import PredictionView
from .routing_view import RoutingView

__all__ = [
    "AttentionView",
    "AttributionView",
    "EmbeddingScatter",
    "PredictionView",
    "RoutingView",
    "TextViewLink",
    "TraitLink",
    "link",
]
