"""``SweepView``: a head-ablation or patching sweep as a clickable layer × head / layer × position heatmap.

The cells are one canvas (``data-testid="sweep-heatmap"``), rows the layers (labels ``sweep-row-L``),
columns the heads or the clean text's tokens (labels ``sweep-column-C``, DOM text). Colours are
diverging and centred at 0: a head sweep's change scaled by its largest |change|, a patching sweep's
``recovered`` share with ±1 as the ends (1: the patch restores the clean run). ``sweep-tooltip`` shows the
hovered cell's layer, column and exact value; ``sweep-selected`` marks the selected cell (``sweep-hover``
the hovered one); ``sweep-legend`` the scale, ``sweep-caption`` what was swept, ``status`` the view's
status. A click selects the cell under the pointer (``selected_layer`` and ``selected_head`` or
``selected_token``), a second click on it clears the selection. Browser tests find a cell's centre with
the root's ``cellCentre(layer, column)`` (client coordinates ``{x, y}``).
"""

from __future__ import annotations

from typing import Any

import anywidget
import numpy as np
import traitlets

from ..analysis.attribution.targets import Target
from ..analysis.causal import (
    HeadSweep,
    PatchSweep,
    head_ablation_sweep,
    head_patching_sweep,
    residual_patching_sweep,
)
from ..model import ModelInterface
from .base import StrictKeywords, bundle, require_bundle
from .buffers import ArrayTrait, encode_float32
from .status import Status, StatusTrait

#: What :meth:`SweepView.run` sweeps, by ``kind``.
KINDS = ("heads", "patch", "head_patch")


class SweepLink:
    """A click in a :class:`SweepView` selecting that layer and head (or token) in another view (an
    :class:`~deepseek_viz.AttentionView`: its ``layer``, ``heads`` and ``selected_token``); ``unlink()``
    ends it. A selection the other view refuses (a token beyond its text) becomes the sweep view's
    status."""

    def __init__(self, sweep: SweepView, view: traitlets.HasTraits) -> None:
        for name in ("layer", "heads", "selected_token"):
            if not view.has_trait(name):
                raise TypeError(
                    f"{type(view).__name__} has no trait {name!r}: link a SweepView to an AttentionView"
                )
        self.sweep, self.view = sweep, view
        sweep.observe(self._forward, names=["selected_layer", "selected_head", "selected_token"])
        self._forward(None)

    def _forward(self, _change: Any) -> None:
        sweep = self.sweep
        if sweep.selected_layer < 0:
            return
        try:
            with self.view.hold_trait_notifications():
                self.view.layer = sweep.selected_layer  # type: ignore[attr-defined]
                if sweep.columns == "head" and sweep.selected_head >= 0:
                    self.view.heads = [sweep.selected_head]  # type: ignore[attr-defined]
                if sweep.columns == "position" and sweep.selected_token >= 0:
                    self.view.selected_token = sweep.selected_token  # type: ignore[attr-defined]
        except traitlets.TraitError as error:
            sweep.set_trait(
                "status", Status.error(f"the linked {type(self.view).__name__} refused it: {error}")
            )
        else:
            sweep.set_trait("status", Status.ready())

    def unlink(self) -> None:
        """Stop forwarding clicks (idempotent)."""
        self.sweep.unobserve(self._forward, names=["selected_layer", "selected_head", "selected_token"])


class SweepView(StrictKeywords, anywidget.AnyWidget):
    """Show a :class:`~deepseek_viz.HeadSweep` or :class:`~deepseek_viz.PatchSweep` as a heatmap:
    ``SweepView(sweep)``, or ``SweepView.run(model, text, kind=...)`` to run the sweep first.

    Traits (synced both ways): ``selected_layer`` (``-1``: none), ``selected_head`` (a layer × head
    sweep) or ``selected_token`` (a layer × position sweep), set by a click; ``sweep`` (Python only)
    replaces what is shown; ``link(attention_view)`` makes a click select that layer and head (or token)
    there. ``status`` is ``ready`` or the error of a refused selection.

    Wire protocol: ``_values`` float32 ``[layer, column]``, what the colours show (a head sweep's change,
    a patch's ``recovered``); ``_targets`` float32 ``[layer, column]``, the target's value with that
    head ablated or that patch in; ``columns`` ``"head"`` or ``"position"``; ``_column_labels`` the heads'
    numbers or the tokens' text; ``_scale`` ``"change"`` (ends at ± the largest |value|) or ``"recovered"``
    (ends at ±1); ``_caption``; ``_data_id`` bumps with every new sweep.
    """

    _esm = bundle("sweep")

    selected_layer = traitlets.Int(-1).tag(sync=True)
    selected_head = traitlets.Int(-1).tag(sync=True)
    selected_token = traitlets.Int(-1).tag(sync=True)
    columns = traitlets.Unicode("head", read_only=True).tag(sync=True)
    sweep: traitlets.Any = traitlets.Any()
    status = StatusTrait(read_only=True)

    _values = ArrayTrait().tag(sync=True)
    _targets = ArrayTrait().tag(sync=True)
    _column_labels: traitlets.List[str] = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _scale = traitlets.Unicode("change").tag(sync=True)
    _caption = traitlets.Unicode("").tag(sync=True)
    _data_id = traitlets.Int(0).tag(sync=True)

    def __new__(cls, *args: Any, **kwargs: Any) -> SweepView:
        require_bundle(cls)
        return super().__new__(cls, *args, **kwargs)

    def __init__(
        self,
        sweep: HeadSweep | PatchSweep,
        *,
        selected_layer: int = -1,
        selected_head: int = -1,
        selected_token: int = -1,
    ) -> None:
        super().__init__()
        self.sweep = sweep
        self.selected_layer, self.selected_head, self.selected_token = (
            selected_layer,
            selected_head,
            selected_token,
        )

    @classmethod
    def run(
        cls,
        model: ModelInterface,
        text: str,
        kind: str = "heads",
        *,
        corrupted: str | None = None,
        target: Target | None = None,
        mode: str = "zero",
        progress: bool = True,
    ) -> SweepView:
        """Run a sweep on ``model`` and show it: ``kind="heads"`` ablates each head of ``text``
        (:func:`~deepseek_viz.head_ablation_sweep`, ``mode``), ``"patch"`` patches the residual stream
        of ``text`` (the clean run) into ``corrupted`` at each layer × position
        (:func:`~deepseek_viz.residual_patching_sweep`), ``"head_patch"`` each head's output
        (:func:`~deepseek_viz.head_patching_sweep`); with a progress bar over the layers."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
        if kind == "heads":
            return cls(head_ablation_sweep(model, text, target, mode, progress=progress))
        if corrupted is None:
            raise ValueError(f"kind={kind!r} patches the clean text into a corrupted one: pass corrupted=...")
        sweep = residual_patching_sweep if kind == "patch" else head_patching_sweep
        return cls(sweep(model, text, corrupted, target, progress=progress))

    def link(self, other: traitlets.HasTraits) -> SweepLink:
        """Make a click here select that layer and head (or token) in ``other`` (an AttentionView)."""
        return SweepLink(self, other)

    @property
    def shape(self) -> tuple[int, int]:
        """``(layers, columns)`` of the heatmap."""
        values = self._values
        return (0, 0) if values is None else (values.shape[0], values.shape[1])

    @traitlets.validate("sweep")
    def _valid_sweep(self, proposal: Any) -> HeadSweep | PatchSweep:
        sweep = proposal["value"]
        if not isinstance(sweep, HeadSweep | PatchSweep):
            raise traitlets.TraitError(
                f"SweepView shows a HeadSweep or PatchSweep (dv.head_ablation_sweep, dv.residual_patching_sweep, "
                f"dv.head_patching_sweep), not {type(sweep).__name__}"
            )
        return sweep

    @traitlets.observe("sweep")
    def _on_sweep(self, change: Any) -> None:
        sweep = change["new"]
        if isinstance(sweep, HeadSweep):
            values, targets = sweep.effects, sweep.before + sweep.effects
            columns, scale = "head", "change"
            caption = f"{sweep.description}: change when one head is {sweep.mode}-ablated (before {sweep.before:.4g})"
        else:
            values, targets = sweep.recovered, sweep.values
            columns, scale = ("head" if sweep.kind == "heads" else "position"), "recovered"
            what = "one head's output" if sweep.kind == "heads" else "the residual stream at one position"
            caption = (
                f"{sweep.description}: share recovered by patching {what} of the clean run in "
                f"(clean {sweep.clean:.4g}, corrupted {sweep.corrupted:.4g})"
            )
        labels = [str(head) for head in range(values.shape[1])] if columns == "head" else list(sweep.tokens)
        with self.hold_sync():
            self.selected_layer = self.selected_head = self.selected_token = -1
            self.set_trait("columns", columns)
            self._values = encode_float32(np.asarray(values, dtype=np.float32))
            self._targets = encode_float32(np.asarray(targets, dtype=np.float32))
            self._column_labels = labels
            self._scale, self._caption = scale, caption
            self._data_id += 1
            self.set_trait("status", Status.ready())

    def _in_range(self, name: str, value: int, count: int) -> int:
        if value != -1 and not 0 <= value < count:
            raise traitlets.TraitError(f"{name} {value} is out of range: -1 (none) or 0–{count - 1}")
        return value

    @traitlets.validate("selected_layer")
    def _valid_layer(self, proposal: Any) -> int:
        return self._in_range("selected_layer", int(proposal["value"]), self.shape[0])

    @traitlets.validate("selected_head")
    def _valid_head(self, proposal: Any) -> int:
        return self._in_range(
            "selected_head", int(proposal["value"]), self.shape[1] if self.columns == "head" else 0
        )

    @traitlets.validate("selected_token")
    def _valid_token(self, proposal: Any) -> int:
        count = self.shape[1] if self.columns == "position" else 0
        return self._in_range("selected_token", int(proposal["value"]), count)
