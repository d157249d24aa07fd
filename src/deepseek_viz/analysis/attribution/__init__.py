"""Token attributions for causal LMs: SHAP, LIME, input × gradient and integrated gradients.

``explain(model, text, target=..., methods=...)`` returns an :class:`Explanation` (scores per traced
token and method, the target, faithfulness figures, timings); ``global_importance(model, texts, ...)``
aggregates over a dataset. Targets: :class:`NextToken`, :class:`Continuation`, :class:`Verbalizer`.

Modules: ``targets`` (what is explained), ``scoring`` (masking by baseline embeddings, batched
evaluation), ``gradients`` / ``sampling`` (the methods), ``faithfulness`` (sum checks, deletion
curves), ``explain`` / ``explanation`` (the entry point and its result), ``global_importance``.
Their figures are drawn in ``deepseek_viz.export.attribution_figures``.
"""

from .explain import METHODS, clear_cache, explain
from .explanation import METHOD_NAMES, Explanation, Faithfulness
from .faithfulness import DeletionCurve, SumCheck
from .global_importance import GlobalImportance, global_importance
from .scoring import AttributionCancelled
from .targets import BoundTarget, Continuation, NextToken, Target, Verbalizer

__all__ = [
    "METHODS",
    "METHOD_NAMES",
    "AttributionCancelled",
    "BoundTarget",
    "Continuation",
    "DeletionCurve",
    "Explanation",
    "Faithfulness",
    "GlobalImportance",
    "NextToken",
    "SumCheck",
    "Target",
    "Verbalizer",
    "clear_cache",
    "explain",
    "global_importance",
]
