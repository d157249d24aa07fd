"""The wire form of what model calls take and answer: tokens, interventions, predictions, routing,
estimates, generation steps, completions and errors, as JSON-able fields plus named arrays.

Each ``*_fields`` function gives ``(fields, arrays)`` to merge into a message (arrays are named under a
``prefix`` so several objects share one message); each ``*_from`` function rebuilds the object. Only the
classes listed here are rebuilt: nothing received names a class or a function to call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..model import errors
from ..model.generation import GenerationStep
from ..model.hooked_model import TraceOutOfMemoryError
from ..model.interventions import (
    ExpertAblation,
    ExpertForcing,
    ExpertPatch,
    HeadAblation,
    HeadPatch,
    HeadScale,
    Intervention,
    ResidualPatch,
)
from ..model.memory import TraceEstimate
from ..model.tokens import Token
from ..model.trace import Completion, LogitLens, Prediction, Routing

Arrays = dict[str, torch.Tensor]


class RequestError(ValueError):
    """A bad request: ``status`` (400, 404, 413, 422…) and a clear message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CodecError(ValueError):
    """A message whose fields do not describe the object they should (a wrong type, a missing array)."""


def _field(fields: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = fields.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise CodecError(f"field {name!r} must be {_names(kind)}, not {type(value).__name__}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join("null" if k is type(None) else k.__name__ for k in _kinds(kind))


def _ints(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise CodecError(f"field {name!r} must be a list of integers")
    return tuple(value)


def _optional_ints(value: Any, name: str) -> tuple[int, ...] | None:
    return None if value is None else _ints(value, name)


def _array(arrays: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    if name not in arrays:
        raise CodecError(f"the message has no array {name!r}")
    return arrays[name]


# tokens ------------------------------------------------------------------------------------------------


def tokens_fields(tokens: Sequence[Token]) -> list[list[Any]]:
    """Tokens as ``[id, text, start, end, special]`` rows."""
    return [[t.id, t.text, t.start, t.end, t.special] for t in tokens]


def tokens_from(rows: Any) -> list[Token]:
    """The tokens of :func:`tokens_fields` rows."""
    if not isinstance(rows, list):
        raise CodecError("tokens must be a list of [id, text, start, end, special] rows")
    tokens = []
    for row in rows:
        if not (
            isinstance(row, list)
            and len(row) == 5
            and all(isinstance(row[i], int) for i in (0, 2, 3))
            and isinstance(row[1], str)
            and isinstance(row[4], bool)
        ):
            raise CodecError(f"a token must be [id, text, start, end, special], not {row!r}")
        tokens.append(Token(row[0], row[1], row[2], row[3], special=row[4]))
    return tokens


# interventions -----------------------------------------------------------------------------------------

_KINDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (HeadAblation, HeadScale, HeadPatch, ResidualPatch, ExpertAblation, ExpertForcing, ExpertPatch)
}


def interventions_fields(
    interventions: Sequence[Intervention], prefix: str = "iv"
) -> tuple[list[dict], Arrays]:
    """Interventions as ``{"kind": class name, …fields}`` objects; a patch's values as array
    ``{prefix}{i}``."""
    described: list[dict] = []
    arrays: Arrays = {}
    for index, intervention in enumerate(interventions):
        kind = type(intervention).__name__
        if kind not in _KINDS:
            raise TypeError(f"{intervention!r} is not an intervention")
        item: dict[str, Any] = {"kind": kind}
        for name, value in vars(intervention).items():
            if isinstance(value, torch.Tensor):
                arrays[f"{prefix}{index}"] = value.detach().cpu()
                item[name] = f"{prefix}{index}"
            else:
                item[name] = list(value) if isinstance(value, tuple) else value
        described.append(item)
    return described, arrays


def interventions_from(items: Any, arrays: Mapping[str, torch.Tensor]) -> tuple[Intervention, ...]:
    """The interventions of :func:`interventions_fields` (each checked by its own constructor)."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise CodecError("interventions must be a list")
    built: list[Intervention] = []
    for item in items:
        if not isinstance(item, dict) or item.get("kind") not in _KINDS:
            raise CodecError(f"an intervention's kind must be one of {', '.join(_KINDS)}")
        built.append(_intervention(item, arrays))
    return tuple(built)


def _intervention(item: dict[str, Any], arrays: Mapping[str, torch.Tensor]) -> Intervention:
    kind = item["kind"]
    layer = _field(item, "layer", int)
    if kind in ("HeadAblation", "HeadScale"):
        heads = _ints(item.get("heads"), "heads")
        rows = _optional_ints(item.get("rows"), "rows")
        if kind == "HeadAblation":
            return HeadAblation(layer, heads, _field(item, "mode", str), rows)
        return HeadScale(layer, heads, float(_field(item, "factor", (int, float))), rows)
    if kind in ("ExpertAblation", "ExpertForcing"):
        experts = _ints(item.get("experts"), "experts")
        positions = _optional_ints(item.get("positions"), "positions")
        return (ExpertAblation if kind == "ExpertAblation" else ExpertForcing)(layer, experts, positions)
    values = _array(arrays, _field(item, "values", str))
    rows = _optional_ints(item.get("rows"), "rows")
    if kind == "ResidualPatch":
        return ResidualPatch(layer, _ints(item.get("positions"), "positions"), values, rows)
    positions = _optional_ints(item.get("positions"), "positions")
    if kind == "HeadPatch":
        return HeadPatch(layer, _ints(item.get("heads"), "heads"), positions, values, rows)
    return ExpertPatch(layer, _field(item, "expert", (int, type(None))), positions, values, rows)


# results of reads --------------------------------------------------------------------------------------


def routing_fields(routing: Routing | None, prefix: str = "routing") -> tuple[dict, Arrays]:
    """A layer's routing (or ``None``: a dense layer)."""
    if routing is None:
        return {prefix: None}, {}
    arrays = {
        f"{prefix}.experts": torch.from_numpy(np.ascontiguousarray(routing.experts)),
        f"{prefix}.weights": torch.from_numpy(np.ascontiguousarray(routing.weights)),
    }
    return {prefix: {"group_size": routing.group_size}}, arrays


def routing_from(
    fields: Mapping[str, Any], arrays: Mapping[str, torch.Tensor], prefix: str = "routing"
) -> Routing | None:
    """The routing of :func:`routing_fields`."""
    described = fields.get(prefix)
    if described is None:
        return None
    return Routing(
        experts=_array(arrays, f"{prefix}.experts").numpy(),
        weights=_array(arrays, f"{prefix}.weights").numpy(),
        group_size=_field(described, "group_size", int),
    )


def predictions_fields(predictions: list[list[Prediction]]) -> tuple[dict, Arrays]:
    """Top predictions per position: ids and probabilities as arrays, texts as fields."""
    k = len(predictions[0]) if predictions else 0
    ids = torch.tensor([[p.token_id for p in row] for row in predictions], dtype=torch.long).reshape(-1, k)
    probs = torch.tensor([[p.prob for p in row] for row in predictions], dtype=torch.float64).reshape(-1, k)
    return {"texts": [[p.text for p in row] for row in predictions]}, {"ids": ids, "probs": probs}


def predictions_from(fields: Mapping[str, Any], arrays: Mapping[str, torch.Tensor]) -> list[list[Prediction]]:
    """The predictions of :func:`predictions_fields`."""
    texts = fields.get("texts")
    ids, probs = _array(arrays, "ids").tolist(), _array(arrays, "probs").tolist()
    if not isinstance(texts, list) or len(texts) != len(ids):
        raise CodecError("texts must hold one row per position")
    return [
        [Prediction(int(i), str(t), float(p)) for i, t, p in zip(row_ids, row_texts, row_probs, strict=True)]
        for row_ids, row_texts, row_probs in zip(ids, texts, probs, strict=True)
    ]


def lens_fields(lens: LogitLens) -> tuple[dict, Arrays]:
    """A logit lens."""
    fields = {"texts": lens.texts, "layers": list(lens.layers), "positions": list(lens.positions)}
    return fields, {"ids": torch.from_numpy(lens.token_ids), "probs": torch.from_numpy(lens.probs)}


def lens_from(fields: Mapping[str, Any], arrays: Mapping[str, torch.Tensor]) -> LogitLens:
    """The logit lens of :func:`lens_fields`."""
    return LogitLens(
        token_ids=_array(arrays, "ids").numpy(),
        probs=_array(arrays, "probs").numpy(),
        texts=_field(fields, "texts", list),
        layers=_ints(fields.get("layers"), "layers"),
        positions=_ints(fields.get("positions"), "positions"),
    )


def estimate_fields(estimate: TraceEstimate) -> dict[str, int]:
    """A trace estimate's byte counts."""
    return dict(vars(estimate))


def estimate_from(fields: Mapping[str, Any]) -> TraceEstimate:
    """The estimate of :func:`estimate_fields`."""
    names = TraceEstimate.__dataclass_fields__
    return TraceEstimate(**{name: _field(fields, name, int) for name in names})


def completion_fields(completion: Completion | None) -> tuple[dict, Arrays]:
    """A generated trace's completion (or ``None``)."""
    if completion is None:
        return {"completion": None}, {}
    fields = {"prompt_length": completion.prompt_length, "stop_reason": completion.stop_reason}
    arrays = {
        "completion.probs": torch.from_numpy(np.ascontiguousarray(completion.probs, dtype=np.float32)),
        "completion.entropies": torch.from_numpy(
            np.ascontiguousarray(completion.entropies, dtype=np.float32)
        ),
    }
    return {"completion": fields}, arrays


def completion_from(fields: Mapping[str, Any], arrays: Mapping[str, torch.Tensor]) -> Completion | None:
    """The completion of :func:`completion_fields`."""
    described = fields.get("completion")
    if described is None:
        return None
    return Completion(
        prompt_length=_field(described, "prompt_length", int),
        probs=_array(arrays, "completion.probs").numpy(),
        entropies=_array(arrays, "completion.entropies").numpy(),
        stop_reason=_field(described, "stop_reason", str),
    )


def step_fields(step: GenerationStep) -> tuple[dict, Arrays]:
    """One generation step with its attention rows and routing."""
    arrays: Arrays = {f"attention.{layer}": rows for layer, rows in step.attention.items()}
    routing: dict[str, Any] = {}
    for layer, chosen in step.routing.items():
        described, routing_arrays = routing_fields(chosen, f"routing.{layer}")
        routing.update(described)
        arrays.update(routing_arrays)
    fields = {
        "position": step.position,
        "token": tokens_fields([step.token])[0],
        "text": step.text,
        "prob": step.prob,
        "entropy": step.entropy,
        "attention": sorted(step.attention),
        "routing": sorted(step.routing),
        **routing,
    }
    return fields, arrays


def step_from(fields: Mapping[str, Any], arrays: Mapping[str, torch.Tensor]) -> GenerationStep:
    """The step of :func:`step_fields`."""
    routing = {}
    for layer in _ints(fields.get("routing"), "routing"):
        chosen = routing_from(fields, arrays, f"routing.{layer}")
        if chosen is not None:
            routing[layer] = chosen
    return GenerationStep(
        position=_field(fields, "position", int),
        token=tokens_from([fields.get("token")])[0],
        text=_field(fields, "text", str),
        prob=float(_field(fields, "prob", (int, float))),
        entropy=float(_field(fields, "entropy", (int, float))),
        attention={
            layer: _array(arrays, f"attention.{layer}")
            for layer in _ints(fields.get("attention"), "attention")
        },
        routing=routing,
    )


# dtypes and devices ------------------------------------------------------------------------------------


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` → ``"bfloat16"``."""
    return str(dtype).removeprefix("torch.")


def dtype_from(name: Any) -> torch.dtype:
    """The torch dtype named ``name`` (floating-point types only)."""
    dtype = getattr(torch, name, None) if isinstance(name, str) else None
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise CodecError(f"{name!r} is not a floating-point dtype")
    return dtype


# errors ------------------------------------------------------------------------------------------------

#: The errors rebuilt on the client as themselves, by class name.
ERRORS: dict[str, type[Exception]] = {
    **{
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.DeepseekVizError)
    },
    "TraceOutOfMemoryError": TraceOutOfMemoryError,
    "RequestError": RequestError,
    **{cls.__name__: cls for cls in (ValueError, IndexError, KeyError, TypeError)},
}


#: Numbers some errors carry besides their message (``TextTooLongError.num_tokens``, …), rebuilt too.
ERROR_DETAILS = ("num_tokens", "max_tokens", "seconds")


def error_fields(error: BaseException) -> dict[str, Any]:
    """``{"error": message, "type": class name, "details": {…}}`` (the nearest class the client can
    rebuild, and the numbers of :data:`ERROR_DETAILS` it carries)."""
    kind = next((cls.__name__ for cls in type(error).__mro__ if ERRORS.get(cls.__name__) is cls), "")
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    if not kind:
        return {"error": message}
    details = {name: getattr(error, name) for name in ERROR_DETAILS if _is_number(getattr(error, name, None))}
    return {"error": message, "type": kind, **({"details": details} if details else {})}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def error_from(fields: Mapping[str, Any], status: int = 500) -> Exception | None:
    """The error an answer's ``{"error", "type", "details"}`` names, rebuilt with its message and
    numbers (a :class:`RequestError` with ``status``); ``None`` when its type is not one of :data:`ERRORS`."""
    cls = ERRORS.get(str(fields.get("type")))
    message = str(fields.get("error", ""))
    if cls is RequestError:
        return RequestError(status, message)
    if cls is None:
        return None
    error = cls.__new__(cls)
    Exception.__init__(error, message)  # errors whose __init__ builds the message take other arguments
    details = fields.get("details")
    for name, value in details.items() if isinstance(details, dict) else ():
        if name in ERROR_DETAILS and _is_number(value):
            setattr(error, name, value)
    return error
