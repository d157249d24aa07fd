"""Standalone HTML: views (or a box of them, e.g. a dashboard) as they are now, in one file that opens
offline.

:func:`save_html` writes one page holding each widget's synced state (Jupyter's widget-state JSON,
binary traits base64-encoded) and ``static/standalone.js`` (``js/src/standalone.ts``: every view module
of the package plus a small in-page model standing in for the kernel), both inline: the file loads
nothing, from the network or from disk. The views draw and respond to hovering and clicking (a token
clicked in one view is selected in the other views of the same text); their text boxes are read-only
and what needs the kernel (re-tracing, fetching detail) fails with "static export: no kernel".

Model text never becomes markup: the views set it as text, and the embedded JSON has ``<``, ``>``,
``&``, U+2028 and U+2029 escaped, so a token like ``</script>`` cannot end its script element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets
from ipywidgets.embed import embed_data

from .text import escape_html

STATIC = Path(__file__).parent.parent / "static"
#: The page's script (built from ``js/src/standalone.ts`` with the other bundles).
BUNDLE = STATIC / "standalone.js"

#: Characters of JSON that could end or confuse the script element holding it, as JSON escapes.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 16px; font: 13px/1.4 system-ui, sans-serif; color: #222; }}
.dsv-export-header h1 {{ font-size: 18px; margin: 0 0 2px; }}
.dsv-export-header p, .dsv-export-note {{ color: #666; margin: 0 0 12px; font-style: italic; }}
#dsv-page {{ display: flex; flex-direction: column; gap: 16px; }}
</style>
</head>
<body>
<header class="dsv-export-header"><h1>{title}</h1><p>Static export of deepseek-viz views: hover and click to explore; editing the text needs the live notebook.</p></header>
<main id="dsv-page" data-testid="standalone-page"></main>
<script type="application/json" id="dsv-state">{state}</script>
<script type="module">{script}</script>
</body>
</html>
"""


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` (so no
    ``</script>``), no U+2028/U+2029; NaN and infinities are refused (JSON has none)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_SCRIPT_SAFE)


def page_state(roots: Sequence[ipywidgets.Widget]) -> dict[str, Any]:
    """The state the page draws: ``{"roots": [model id, …], "models": {id: entry}}``, an entry being
    Jupyter's widget-state entry of a widget (or of its layout, style, children) plus, for a widget
    with a bundle in ``static/``, ``"module"``: the bundle's name (``"attention"``). Bundled code is
    left out of the state (the page carries it once)."""
    bundles = {path.read_text(encoding="utf-8"): path.stem for path in STATIC.glob("*.js") if path != BUNDLE}
    models: dict[str, Any] = embed_data(views=list(roots), drop_defaults=False)["manager_state"]["state"]
    for entry in models.values():
        esm = entry["state"].pop("_esm", None)
        if esm is not None:
            entry["state"].pop("_css", None)
            entry["module"] = bundles.get(esm)
    return {"roots": [widget.model_id for widget in roots], "models": models}


def save_html(
    root: ipywidgets.Widget | Sequence[ipywidgets.Widget], path: str | Path, title: str = "deepseek-viz"
) -> Path:
    """Write ``root`` — a view, a list of views, or a box of them (``VBox``/``HBox``/``GridBox``, nested,
    e.g. a ``Dashboard``) — as it is now to one HTML file that renders offline (see the module's
    docstring); widgets that are neither views, boxes nor labels are named in their place. Returns the
    path written."""
    roots = [root] if isinstance(root, ipywidgets.Widget) else list(root)
    if not roots:
        raise ValueError("nothing to export: pass a view, a list of views or a box of them")
    wrong = [type(widget).__name__ for widget in roots if not isinstance(widget, ipywidgets.Widget)]
    if wrong:
        raise TypeError(f"save_html exports widgets (views, boxes of views), not {', '.join(wrong)}")
    if not BUNDLE.is_file():
        raise FileNotFoundError(f"{BUNDLE} is missing: build the front end (cd js && npm run build)")
    # "<\/script" means the same in any JS string, template or regex, and cannot end the element
    script = re.sub(r"</(script)", r"<\\/\1", BUNDLE.read_text(encoding="utf-8"), flags=re.IGNORECASE)
    page = PAGE.format(title=escape_html(title), state=script_json(page_state(roots)), script=script)
    target = Path(path)
    target.write_text(page, encoding="utf-8")
    return target
