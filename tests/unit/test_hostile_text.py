"""Hostile text through the tokenizer and the live views' edit command, without a browser: HTML, CSS,
bidi and zero-width characters, control characters, lone surrogates, an over-long text and a view
that fails (the browser side is ``tests/browser/test_hostile_input.py``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.session import json_packer

import deepseek_viz as dv
from deepseek_viz.widgets import AttentionView
from deepseek_viz.widgets.attribution_view import AttributionView
from deepseek_viz.widgets.live_text import SPECIAL, LiveTextWidget, display_tokens
from deepseek_viz.widgets.prediction_view import PredictionView
from deepseek_viz.widgets.routing_view import RoutingView

HOSTILE = {
    "html": "<img src=x onerror=window.__pwned=1> <script>window.__pwned=1</script> </script>",
    "css": "<style>body{display:none}</style> & &amp; \"quoted\" 'single'",
    "bidi": "left \u202eright\u202c then \u2066ltr\u2069 \u2067rtl\u2069 \u2068first\u2069 end",
    "zero_width": "zero\u200bwidth\u200djoiner\ufeffbom",
    "controls": "".join(map(chr, range(32))) + "\x7f end",
}

VIEWS: dict[str, Any] = {
    "attention": lambda model: AttentionView(model, text="start", layer=0, heads=[0]),
    "routing": lambda model: RoutingView(model, text="start"),
    "predictions": lambda model: PredictionView(model, text="start", k=3),
    "attribution": lambda model: AttributionView(model, "start", ig_steps=2, deletion_steps=2),
}


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


def shown_text(view: LiveTextWidget) -> str:
    """The text of the tokens the view sent to the browser (specials left out)."""
    return "".join(text for text, kind in view._tokens if kind != SPECIAL)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_tokens_join_back_into_the_text(hooked: dv.HookedModel, name: str) -> None:
    tokens = hooked.tokenize(HOSTILE[name])
    assert all(token.text == HOSTILE[name][token.start : token.end] for token in tokens if not token.special)
    shown = display_tokens(tokens)  # byte pieces of one character show it once
    assert "".join(text for text, kind in shown if kind != SPECIAL) == HOSTILE[name]


@pytest.mark.parametrize("view_name", VIEWS)
def test_every_view_traces_hostile_edits_as_plain_text(hooked: dv.HookedModel, view_name: str) -> None:
    view = VIEWS[view_name](hooked)
    for seq, text in enumerate(HOSTILE.values(), start=1):
        reply, _ = view._edit({"text": text, "seq": seq}, [])
        assert reply == {"seq": seq, "stale": False}
        assert (view.text, str(view.status), view._seq) == (text, "ready", seq)
        assert shown_text(view) == text
        json_packer(view.get_state())  # what the kernel sends to the browser encodes


def test_lone_surrogates_become_replacement_characters(hooked: dv.HookedModel) -> None:
    view = AttentionView(hooked, text="start")
    reply, _ = view._edit({"text": "a\ud800b\udc00 \ud83d\ude00", "seq": 1}, [])
    assert reply == {"seq": 1, "stale": False}
    assert view.text == "a\ufffdb\ufffd 😀"  # a surrogate pair (as JSON may carry it) is one character
    assert view.status.ok and shown_text(view) == view.text
    json_packer(view.get_state())
    view.text = "\udfff set from Python"
    assert view.text == "\ufffd set from Python" and view.status.ok
    assert view._edit({"text": "\ufffd set from Python", "seq": 2}, [])[0] == {"seq": 2, "stale": False}
    assert view._seq == 2  # an edit equal to the text shown is answered too


@pytest.mark.parametrize("view_name", VIEWS)
def test_over_long_text_is_an_error_that_keeps_the_view(hooked: dv.HookedModel, view_name: str) -> None:
    view = VIEWS[view_name](hooked)
    view._edit({"text": "short text", "seq": 1}, [])
    tokens, data_id = view._tokens, view._data_id
    reply, _ = view._edit({"text": "a " * 25_000, "seq": 2}, [])  # 50,000 characters
    assert reply == {"seq": 2, "stale": False}
    assert str(view.status).startswith("error: the text is ") and "the limit is 256" in view.status.message
    assert (view._tokens, view._data_id, view._seq) == (tokens, data_id, 2)


def test_an_edit_is_answered_even_when_the_view_fails(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    view = AttentionView(hooked, text="start")

    def broken() -> None:
        raise RuntimeError("a bug in the view")

    monkeypatch.setattr(view, "_update", broken)
    with caplog.at_level(logging.ERROR, logger="deepseek_viz.widgets.live_text"):
        reply, _ = view._edit({"text": "new text", "seq": 1}, [])
    assert reply == {"seq": 1, "stale": False}
    assert str(view.status) == "error: RuntimeError: a bug in the view" and view._seq == 1
    assert "AttentionView failed to update" in caplog.text
