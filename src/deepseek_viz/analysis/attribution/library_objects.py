"""Our attributions as shap's and lime's own objects, so their plots draw them unchanged.

* :func:`shap_explanation` — a ``shap.Explanation`` of one method's token scores (``values``), the target
  on the fully masked input (``base_values`` = ``f(baseline)``) and the token strings (``data``), for
  ``shap.plots.text`` / ``waterfall`` / ``bar``.
* :func:`lime_explanation` — the ``lime.explanation.Explanation`` of a LIME run, in lime's regression
  form (the target is a real number, not a class probability), whose ``as_html`` / ``show_in_notebook``
  are safe for any token text and work offline.

**LIME's HTML.** lime inlines its own ``bundle.js`` (d3 and its charts; nothing is fetched from the
network) and its JavaScript sets every string as DOM text. What lime does not do is make the JSON it
writes into the ``<script>`` element safe: a token ``"</script><b>x</b>"`` would end the script and
become markup, and it shows ``<``, ``>``, ``&`` of the text as ``|``. Here every model string (token,
class name) reaches the page as script-safe JSON (no ``<``, ``>``, ``&``, U+2028/9 as such) and the
highlighted text is the real text, its positions counted in UTF-16 as the browser counts them.
``show_in_notebook`` uses ``IPython.display`` (lime's import of ``IPython.core.display.display`` is
gone from IPython 9). lime and shap are imported only when an object is made.
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Characters JSON may hold that an HTML ``<script>`` element must not see as such.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
#: Control characters (but tab and newlines) as their Unicode pictures, in plot labels.
_CONTROL_PICTURES = {code: 0x2400 + code for code in range(32) if chr(code) not in "\t\n\r"} | {0x7F: 0x2421}
_LABEL_SYMBOLS = _CONTROL_PICTURES | str.maketrans({"\n": "↵", "\t": "⇥", "\r": "␍", "$": "\\$"})


def script_json(value: Any) -> str:
    """``value`` as JSON safe inside a ``<script>`` element (the twin of ``export.standalone.script_json``,
    which ``analysis`` may not import)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).translate(_SCRIPT_SAFE)


def plot_label(text: str) -> str:
    """A token as a one-line matplotlib label shown literally: quoted (so shap's number formatting
    cannot strip a ``"100"`` to ``"1"`` and edge spaces show), newline ``↵``, tab ``⇥``, control
    characters as pictures, ``$`` escaped (no mathtext), the empty token as ``∅``."""
    return f"'{text.translate(_LABEL_SYMBOLS)}'" if text else "∅"


def shap_explanation(
    values: np.ndarray,
    base_value: float,
    token_texts: Sequence[str],
    positions: Sequence[int],
) -> Any:
    """A one-dimensional ``shap.Explanation`` over the given tokens.

    ``data``: the token strings as they are (``shap.plots.text`` escapes ``<``/``>`` itself);
    ``display_data``: :func:`plot_label` of each (what ``waterfall`` and ``bar`` print);
    ``feature_names``: ``"token {i}"`` with ``i`` the token's position in the trace (BOS = 0), so a
    repeated token stays two features.
    """
    import shap

    return shap.Explanation(
        values=np.asarray(values, dtype=np.float64),
        base_values=float(base_value),
        data=np.array(list(token_texts), dtype=object),
        display_data=np.array([plot_label(t) for t in token_texts], dtype=object),
        feature_names=[f"token {int(i)}" for i in positions],
    )


def _utf16(text: str, index: int) -> int:
    """The UTF-16 offset (the browser's string index) of code point ``index`` of ``text``."""
    return len(text[:index].encode("utf-16-le")) // 2


@functools.cache
def _classes() -> tuple[type, type]:
    """lime's Explanation and TextDomainMapper, subclassed to be safe in HTML (made on first use)."""
    from lime.explanation import Explanation as LimeBase
    from lime.lime_text import TextDomainMapper

    class TokenDomainMapper(TextDomainMapper):
        """lime's text mapper: names as plain ``str``; the highlighted text is the real text, as
        script-safe JSON."""

        def map_exp_ids(self, exp: Any, positions: bool = False) -> list[tuple[str, float]]:
            return [(str(name), weight) for name, weight in super().map_exp_ids(exp, positions=positions)]

        def visualize_instance_html(
            self,
            exp: list[tuple[int, float]],
            label: int,
            div_name: str,
            exp_object_name: str,
            text: bool = True,
            opacity: bool = True,
        ) -> str:
            if not text:
                return ""
            raw = self.indexed_string.raw_string()
            occurrences = [
                (self.indexed_string.word(feature), _utf16(raw, int(start)), float(weight))
                for feature, weight in exp
                for start in self.indexed_string.string_position(feature)
            ]
            return (
                f"\n{exp_object_name}.show_raw_text({script_json(occurrences)}, {int(label)}, "
                f"{script_json(raw)}, {div_name}, {script_json(bool(opacity))});\n"
            )

    class Placeholders:
        """Stands in for the mapper while lime writes its page: names become placeholders."""

        def __init__(self, mapper: Any, hold: Callable[[str], str]) -> None:
            self.mapper, self.hold = mapper, hold

        def map_exp_ids(self, exp: Any, **kwargs: Any) -> list[tuple[str, float]]:
            return [(self.hold(str(name)), weight) for name, weight in self.mapper.map_exp_ids(exp, **kwargs)]

        def visualize_instance_html(self, *args: Any, **kwargs: Any) -> str:
            return str(self.mapper.visualize_instance_html(*args, **kwargs))

    class TokenLimeExplanation(LimeBase):
        """``lime.explanation.Explanation`` of a LIME run over the trace's tokens (regression mode).

        ``as_list()`` → ``[(token text, weight), …]`` by decreasing |weight|; ``as_map()``,
        ``as_pyplot_figure()``, ``as_html()``, ``save_to_file()``, ``show_in_notebook()`` as in lime.
        """

        def as_html(
            self,
            labels: Any = None,
            predict_proba: bool = True,
            show_predicted_value: bool = True,
            **kwargs: Any,
        ) -> str:
            nonce = secrets.token_hex(8)
            held: dict[str, str] = {}

            def hold(text: str) -> str:
                key = f"dsv-{nonce}-{len(held)}"
                held[key] = text
                return key

            page = copy.copy(self)
            page.domain_mapper = Placeholders(self.domain_mapper, hold)
            page.class_names = [hold(str(name)) for name in self.class_names]
            html = str(LimeBase.as_html(page, labels, predict_proba, show_predicted_value, **kwargs))
            for key, text in held.items():
                html = html.replace(json.dumps(key), script_json(text))
            return html

        def show_in_notebook(
            self,
            labels: Any = None,
            predict_proba: bool = True,
            show_predicted_value: bool = True,
            **kwargs: Any,
        ) -> None:
            from IPython.display import HTML, display

            display(HTML(self.as_html(labels, predict_proba, show_predicted_value, **kwargs)))

    return TokenLimeExplanation, TokenDomainMapper


def lime_explanation(
    result: Any,
    predicted_value: float,
    min_value: float,
    max_value: float,
    class_names: tuple[str, str] = ("lowers the target", "raises the target"),
) -> Any:
    """lime's regression-form explanation of ``result`` (``LimeTextExplainer.explain_instance``'s
    single-label output): weights under lime's ``dummy_label`` 1 (and negated under 0, as lime's
    tabular regression does), ``predicted_value`` ``f(x)``, the range of the targets LIME sampled."""
    explanation_class, mapper_class = _classes()
    weights = [(int(feature), float(weight)) for feature, weight in result.local_exp[0]]
    out = explanation_class(
        mapper_class(result.domain_mapper.indexed_string), mode="regression", random_state=result.random_state
    )
    out.class_names = list(class_names)
    out.local_exp = {1: weights, 0: [(feature, -weight) for feature, weight in weights]}
    out.intercept = {1: float(np.asarray(result.intercept[0])), 0: -float(np.asarray(result.intercept[0]))}
    out.score = result.score
    out.local_pred = result.local_pred
    out.predicted_value = float(predicted_value)
    out.min_value, out.max_value = float(min_value), float(max_value)
    return out
