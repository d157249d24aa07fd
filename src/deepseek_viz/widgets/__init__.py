"""Jupyter widgets (anywidget): each shows one part of a model's insides."""

from .attention_view import AttentionView
from .attribution_view import AttributionView
from .linking import TraitLink

__all__ = ["AttentionView", "AttributionView", "TraitLink"]
