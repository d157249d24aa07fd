"""``Interventions``: the heads and experts turned off in the live views, one state the views share.

A view given an :class:`Interventions` traces under its interventions and refreshes when they change;
views given the same object (a :class:`~deepseek_viz.widgets.Dashboard`'s) show the same set. It is
shared state, not a widget: the browser changes it through a view's ``_intervene`` command, and each
view sends it as ``_interventions`` (``describe()``: small JSON ``{label, kind, layer, unit}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import traitlets

from ..model import (
    ExpertAblation,
    ExpertPatch,
    HeadAblation,
    HeadPatch,
    HeadScale,
    Intervention,
    LayerOutOfRangeError,
    ModelInterface,
    ResidualPatch,
)
from .commands import Reply, command, describe_error
from .live_text import ModelView
from .status import Status


def check_head(model: ModelInterface, layer: int, head: int) -> None:
    """:class:`LayerOutOfRangeError` unless ``model`` has head ``head`` in layer ``layer``."""
    if not 0 <= layer < model.num_layers:
        raise LayerOutOfRangeError(
            f"layer {layer} is out of range: the model has {model.num_layers} layers (0–{model.num_layers - 1})"
        )
    if not 0 <= head < model.num_heads:
        raise LayerOutOfRangeError(
            f"head {head} is out of range: each layer has {model.num_heads} heads (0–{model.num_heads - 1})"
        )


def check_expert(model: ModelInterface, layer: int, expert: int, ablated: int = 0) -> None:
    """:class:`LayerOutOfRangeError` unless ``layer`` is an MoE layer of ``model`` with routed expert
    ``expert``; :class:`ValueError` when ``ablated`` experts of the layer are already off and one more
    would leave fewer than the router's top-k."""
    if layer not in model.moe_layers:
        where = f"the MoE layers are {list(model.moe_layers)}" if model.moe_layers else "the model has none"
        raise LayerOutOfRangeError(f"layer {layer} is dense: no experts to turn off ({where})")
    if not 0 <= expert < model.num_experts:
        raise LayerOutOfRangeError(
            f"expert {expert} is out of range: layer {layer} has {model.num_experts} routed experts "
            f"(0–{model.num_experts - 1})"
        )
    if ablated + 1 > model.num_experts - model.experts_per_token:
        raise ValueError(
            f"turning off {ablated + 1} of {model.num_experts} experts of layer {layer} leaves too few for "
            f"top-{model.experts_per_token}"
        )


def describe(intervention: Intervention) -> dict[str, Any]:
    """``{label, kind, layer, unit}`` of one intervention: ``kind`` ``"head"`` (a head turned off; ``unit``
    the head), ``"expert"`` (an expert turned off everywhere; ``unit`` the expert) or ``"other"`` (set from
    Python: scaled heads, patches, forcing; ``unit`` -1)."""
    layer = intervention.layer
    if isinstance(intervention, HeadAblation) and len(intervention.heads) == 1 and intervention.rows is None:
        mode = "" if intervention.mode == "zero" else f" ({intervention.mode})"
        label = f"L{layer} head {intervention.heads[0]} off{mode}"
        return {"label": label, "kind": "head", "layer": layer, "unit": intervention.heads[0]}
    if (
        isinstance(intervention, ExpertAblation)
        and len(intervention.experts) == 1
        and intervention.positions is None
    ):
        label = f"L{layer} expert {intervention.experts[0]} off"
        return {"label": label, "kind": "expert", "layer": layer, "unit": intervention.experts[0]}
    if isinstance(intervention, HeadAblation | HeadScale):
        what = f"×{intervention.factor:g}" if isinstance(intervention, HeadScale) else "off"
        label = f"L{layer} heads {', '.join(map(str, intervention.heads))} {what}"
    elif isinstance(intervention, ResidualPatch | HeadPatch | ExpertPatch):
        if isinstance(intervention, HeadPatch):
            what = f"heads {', '.join(map(str, intervention.heads))}"
        elif isinstance(intervention, ExpertPatch):
            what = "experts" if intervention.expert is None else f"expert {intervention.expert}"
        else:
            what = "residual"
        at = intervention.positions or ()
        where = ", ".join(map(str, at)) if len(at) <= 4 else f"{len(at)} positions"
        label = f"L{layer} {what} patched at {where}"
    else:
        verb = "off" if isinstance(intervention, ExpertAblation) else "forced"
        label = f"L{layer} experts {', '.join(map(str, intervention.experts))} {verb}"
    return {"label": label, "kind": "other", "layer": layer, "unit": -1}


def _unit(intervention: Intervention) -> tuple[str, int, int]:
    """``(kind, layer, unit)`` of :func:`describe`."""
    entry = describe(intervention)
    return entry["kind"], entry["layer"], entry["unit"]


class Interventions(traitlets.HasTraits):
    """The interventions in force in the views that share this object.

    ``Interventions(model=None)``; with a model, :meth:`toggle_head` / :meth:`toggle_expert` check the
    layer, head or expert first (:class:`LayerOutOfRangeError`, nothing changed). ``items`` (a tuple,
    observable) holds them in the order they were turned on, as a model runs them. Setting ``items`` (or any method here) notifies the views once per change.
    """

    items = traitlets.Tuple()

    def __init__(self, model: ModelInterface | None = None, items: Iterable[Intervention] = ()) -> None:
        self._model = model
        super().__init__(items=tuple(items))

    @property
    def model(self) -> ModelInterface | None:
        """The model whose heads and experts are checked (``None``: not checked here)."""
        return self._model

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def _find(self, match: Callable[[Intervention], bool]) -> int:
        return next((i for i, item in enumerate(self.items) if match(item)), -1)

    def toggle_head(self, layer: int, head: int) -> bool:
        """Turn head ``head`` of ``layer`` off (:class:`HeadAblation`, zero), or back on if it is off;
        whether it is off now."""
        return self._toggle_unit("head", layer, head, self._model)

    def toggle_expert(self, layer: int, expert: int) -> bool:
        """Turn routed expert ``expert`` of MoE ``layer`` off for every token (:class:`ExpertAblation`), or
        back on if it is off; whether it is off now."""
        return self._toggle_unit("expert", layer, expert, self._model)

    def _toggle_unit(self, kind: str, layer: int, unit: int, model: ModelInterface | None) -> bool:
        """Toggle a head or an expert, checked against ``model`` (if any) before anything changes."""
        layer, unit = int(layer), int(unit)
        index = self._find(lambda item: _unit(item) == (kind, layer, unit))
        if index >= 0:
            self.remove(index)
            return False
        if kind == "head":
            if model is not None:
                check_head(model, layer, unit)
            intervention: Intervention = HeadAblation(layer, (unit,))
        else:
            if model is not None:
                off = sum(1 for item in self.items if _unit(item)[:2] == ("expert", layer))
                check_expert(model, layer, unit, off)
            intervention = ExpertAblation(layer, (unit,))
        self.items = (*self.items, intervention)
        return True

    def add(self, *interventions: Intervention) -> None:
        """Put ``interventions`` (any of :mod:`deepseek_viz.model.interventions`) in force too."""
        for intervention in interventions:
            if not isinstance(intervention, Intervention):
                raise TypeError(f"not an intervention: {intervention!r}")
        self.items = (*self.items, *interventions)

    def remove(self, index: int) -> None:
        """Take intervention ``index`` (of :meth:`describe`'s list) out of force."""
        index = int(index)
        if not 0 <= index < len(self.items):
            raise IndexError(f"no intervention {index}: {len(self.items)} in force")
        self.items = self.items[:index] + self.items[index + 1 :]

    def clear(self) -> None:
        """Take every intervention out of force: the views show the original run again."""
        self.items = ()

    def describe(self) -> list[dict[str, Any]]:
        """``{label, kind, layer, unit}`` per intervention in force, in order (:func:`describe`)."""
        return [describe(item) for item in self.items]

    def __repr__(self) -> str:
        return f"Interventions({[entry['label'] for entry in self.describe()]})"


class InterventionsView(ModelView):
    """Base of the views that trace under an :class:`Interventions` (``interventions=`` of their
    constructor; a view given none makes its own). A change of its ``items`` refreshes the view once
    and sends ``_interventions`` (:meth:`Interventions.describe`).

    ``_intervene`` command (the browser's alt-click, the ablate toggle, the list's × and "clear all"):
    ``{action: "toggle_head", layer, head}``, ``{action: "toggle_expert", layer, expert}``,
    ``{action: "remove", index}`` or ``{action: "clear"}`` → ``{interventions: describe()}``. A bad
    one (a dense layer, a head out of range) changes nothing, answers its error and sets the view's
    ``status`` to it.
    """

    _interventions: traitlets.List[dict[str, Any]] = traitlets.List(traitlets.Dict()).tag(sync=True)

    def _use_interventions(self, state: Interventions | None) -> None:
        """In a subclass's ``__init__``, before its first refresh: share ``state`` (or a new one)."""
        if state is None:
            state = Interventions(self.model)
        elif not isinstance(state, Interventions):
            raise TypeError(f"interventions must be a deepseek_viz Interventions, not {type(state).__name__}")
        self._state = state
        self._interventions = state.describe()
        state.observe(self._on_interventions, names="items")

    @property
    def interventions(self) -> Interventions:
        """The interventions this view runs under (shared with the views given the same object)."""
        return self._state

    @property
    def _active(self) -> tuple[Intervention, ...]:
        """What the view's traces run under now."""
        state: Interventions | None = getattr(self, "_state", None)
        return () if state is None else state.items

    def _on_interventions(self, _change: Any) -> None:
        self._interventions = self._state.describe()
        self.refresh()

    @command
    def _intervene(self, msg: Any, _buffers: list[bytes]) -> Reply:
        action = str(msg.get("action", ""))
        try:
            if action in ("toggle_head", "toggle_expert"):
                kind = action.removeprefix("toggle_")
                self._state._toggle_unit(kind, int(msg["layer"]), int(msg[kind]), self.model)
            elif action == "remove":
                self._state.remove(int(msg["index"]))
            elif action == "clear":
                self._state.clear()
            else:
                raise ValueError(f"unknown intervention action {action!r}")
        except Exception as error:
            self._finish(Status.error(describe_error(error)))
            raise
        return {"interventions": self._state.describe()}, []
