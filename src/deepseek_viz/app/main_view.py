"""What the app shows: the main view on the model named by ``$DEEPSEEK_VIZ_MODEL`` (default: bundled)."""

from __future__ import annotations

import os

from transformers.utils import logging as transformers_logging

from ..model import load_model
from ..widgets import AttentionView

DEFAULT_TEXT = "Quarterly revenue rose 12% to $4.2 billion, beating analyst estimates. 你好，世界！"


def main_view() -> AttentionView:
    """Load the app's model and return the widget the app displays."""
    transformers_logging.disable_progress_bar()  # a visitor sees the app, not the loading bars
    model = load_model(os.environ.get("DEEPSEEK_VIZ_MODEL") or None)
    return AttentionView(model, text=DEFAULT_TEXT)
