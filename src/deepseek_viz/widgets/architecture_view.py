"""``ArchitectureView``: the model's structure as a drawing — embedding, decoder layers (attention and
MLP), final norm, LM head — with parameters, dtypes and devices per part; a click selects a layer.

Consecutive layers of one kind on the same devices are one group (``arch-group-G``, its label
``arch-group-label-G`` e.g. "layers 3–60: MLA + MoE 256 experts, 8 groups (4 a token), top-8, 1 shared")
that ``arch-group-toggle-G`` expands into its layers; each layer is ``arch-layer-L`` (a button: Tab
reaches it, Enter or Space or a click selects it; ``aria-pressed="true"`` and class ``dsv-on`` on the
selected one). ``arch-embedding``, ``arch-final-norm``, ``arch-lm-head`` are the other parts,
``arch-total`` the parameter count, ``arch-details`` the selected layer's attention and MLP facts and
parameter counts, ``arch-scroll`` the panel that scrolls, ``status`` the view's status. Browser tests
reveal any layer with the root's ``revealLayer(L)`` (expands its group, scrolls it into view, returns
the button).
"""

from __future__ import annotations

from typing import Any

import traitlets

from ..model import ModelInterface, ModelStructure
from .base import bundle
from .live_text import ModelView
from .status import Status


class ArchitectureLink:
    """A click on a layer of an :class:`ArchitectureView` showing that layer in another view: an
    :class:`~deepseek_viz.AttentionView` (its ``layer``: that layer's heads) or a
    :class:`~deepseek_viz.RoutingView` (its ``layer``, when the layer is an MoE layer; a dense layer
    leaves it as it is). ``unlink()`` ends it. A layer the other view refuses becomes the
    architecture view's status."""

    def __init__(self, view: ArchitectureView, other: traitlets.HasTraits) -> None:
        if not other.has_trait("layer"):
            raise TypeError(
                f"{type(other).__name__} has no trait 'layer': link an ArchitectureView to an AttentionView "
                "or a RoutingView"
            )
        self.view, self.other = view, other
        view.observe(self._forward, names=["selected_layer"])
        self._forward(None)

    def _forward(self, _change: Any) -> None:
        layer = self.view.selected_layer
        if layer < 0:
            return
        if self.other.has_trait("moe_layers") and layer not in self.other.moe_layers:  # type: ignore[attr-defined]
            self.view.set_trait("status", Status.ready())
            return
        try:
            self.other.layer = layer  # type: ignore[attr-defined]
        except traitlets.TraitError as error:
            self.view.set_trait(
                "status",
                Status.error(f"the linked {type(self.other).__name__} refused layer {layer}: {error}"),
            )
        else:
            self.view.set_trait("status", Status.ready())

    def unlink(self) -> None:
        """Stop forwarding clicks (idempotent)."""
        self.view.unobserve(self._forward, names=["selected_layer"])


class ArchitectureView(ModelView):
    """The structure of ``model`` (:meth:`~deepseek_viz.ModelInterface.structure`) as a drawing.

    Traits: ``selected_layer`` (synced both ways; ``-1``: none; a click on a layer sets it, out of
    range raises :class:`traitlets.TraitError`); ``num_layers`` (read-only); ``status``.
    ``link(attention_view)`` / ``dv.link(view, routing_view)`` makes a click show that layer there
    (:class:`ArchitectureLink`); :attr:`structure` is the :class:`~deepseek_viz.ModelStructure` shown.

    Wire protocol: ``_structure``, the structure's :meth:`~deepseek_viz.ModelStructure.to_dict` (small
    facts, JSON: no arrays); ``_data_id`` bumps when it is sent again (:meth:`refresh`).
    """

    _esm = bundle("architecture")

    selected_layer = traitlets.Int(-1).tag(sync=True)
    num_layers = traitlets.Int(0, read_only=True).tag(sync=True)
    _structure = traitlets.Dict().tag(sync=True)

    def __init__(self, model: ModelInterface, *, selected_layer: int = -1) -> None:
        super().__init__(model)
        self._shown: ModelStructure | None = None
        self.refresh()
        self.selected_layer = selected_layer

    @property
    def structure(self) -> ModelStructure | None:
        """The structure shown (``None`` until the model answered)."""
        return self._shown

    def _update(self) -> None:
        structure = self.model.structure()
        with self.hold_sync():
            self._shown = structure
            self.set_trait("num_layers", len(structure.layers))
            self._structure = structure.to_dict()
            self._data_id += 1
            self._finish()

    def link(self, other: traitlets.HasTraits) -> ArchitectureLink:
        """Make a click on a layer here show that layer in ``other`` (an AttentionView or RoutingView)."""
        return ArchitectureLink(self, other)

    @traitlets.validate("selected_layer")
    def _valid_layer(self, proposal: Any) -> int:
        layer = int(proposal["value"])
        if layer != -1 and not 0 <= layer < self.num_layers:
            raise traitlets.TraitError(
                f"selected_layer {layer} is out of range: -1 (none) or 0–{self.num_layers - 1}"
            )
        return layer
