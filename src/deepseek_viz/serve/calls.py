"""The server side of every model call, with no Ray and no HTTP in it: a call's name, fields and arrays
in, fields and arrays out, within the service's per-request bounds.

Every call carries the interventions in force on the client and its time limit; :class:`ModelCalls`
runs it under ``model.intervene(...)`` and ``model.time_limit(...)``. Traces stay here: a ``trace``
call answers a trace's metadata, a ``trace_read`` call one read of it (the model's trace cache keeps
the trace; a replica that never saw it traces it again), so only what a view asks for crosses.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..model.generation import GenerationStep
from ..model.hooked_model import HookedModel
from ..model.interventions import Intervention
from ..model.loading import BUNDLED_MODEL
from ..model.tokens import Token
from ..model.trace import Trace
from . import codec
from .codec import Arrays, CodecError, RequestError

Fields = dict[str, Any]
Answer = tuple[Fields, Arrays]


#: Calls that read the tokenizer or the model's facts only: they run at once, not one model call at a time
#: (a client's view tokenizes while its generation writes).
TOKENIZER_CALLS = frozenset({"info", "tokenize", "encode", "decode", "token_strings", "estimate"})


@dataclass(frozen=True)
class ServiceLimits:
    """The per-request bounds :class:`ModelCalls` enforces."""

    max_chars: int = 20_000  # characters of one text
    max_tokens: int = 2048  # tokens of one trace (the model's own limit too, if lower)
    max_seconds: float | None = 60.0  # model work of one request
    max_samples: int = 512  # rows of one `logits` batch / sequences of one `hidden_states` call
    max_new_tokens: int = 256  # tokens one generation writes (larger requests are clamped)
    max_request_bytes: int = 64 * 2**20  # bytes of one request body (checked by the service)


def _revision(model: HookedModel) -> str:
    """The model's name and a hash of its parts, its mean input embedding (a fingerprint of the
    weights) and, for a checkpoint folder, its files (names, sizes, first MiB)."""
    digest = hashlib.sha256(model.name.encode())
    digest.update(json.dumps(model.structure().to_dict(), sort_keys=True).encode())
    digest.update(model.mean_input_embedding().float().cpu().numpy().tobytes())
    folder = BUNDLED_MODEL if model.name == "bundled" else Path(model.name)
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file():
                digest.update(f"{path.name}:{path.stat().st_size}".encode())
                with path.open("rb") as file:
                    digest.update(file.read(2**20))
    return f"{model.name}@{digest.hexdigest()[:16]}"


class ModelCalls:
    """Every model call a :class:`~deepseek_viz.serve.client.RemoteModel` makes, answered by ``model``
    within ``limits`` (the model's ``max_tokens`` is lowered to ``limits.max_tokens``)."""

    def __init__(self, model: HookedModel, limits: ServiceLimits = ServiceLimits()) -> None:
        self.model = model
        self.limits = limits
        model.max_tokens = min(model.max_tokens, limits.max_tokens)
        #: Names the model's weights: the cache keys on it.
        self.revision = _revision(model)
        self._calls: dict[str, Callable[[Fields, Arrays], Answer]] = {
            "info": self._info,
            "tokenize": self._tokenize,
            "encode": self._encode,
            "decode": self._decode,
            "token_strings": self._token_strings,
            "estimate": self._estimate,
            "input_embeddings": self._input_embeddings,
            "mean_input_embedding": self._mean_input_embedding,
            "hidden_states": self._hidden_states,
            "head_outputs": self._head_outputs,
            "expert_outputs": self._expert_outputs,
            "expert_weight_summary": self._expert_weight_summary,
            "logits": self._logits,
            "logits_vjp": self._logits_vjp,
            "trace": self._trace,
            "trace_read": self._trace_read,
        }

    @property
    def calls(self) -> tuple[str, ...]:
        """The names :meth:`handle` answers."""
        return tuple(self._calls)

    def cacheable(self, call: str) -> bool:
        """Whether ``call``'s answer depends on the revision and the request alone (not ``info``, whose
        limits belong to the service, nor a generation)."""
        return call in self._calls and call != "info"

    @staticmethod
    def cache_fields(fields: Fields) -> Fields:
        """The fields a cacheable call's answer depends on: all but the request's time limit
        (``seconds``, which varies from request to request); key a cache on these and the arrays."""
        return {name: value for name, value in fields.items() if name != "seconds"}

    def handle(self, call: str, fields: Fields, arrays: Arrays) -> Answer:
        """Answer ``call``: model errors pass through as they are, a bad request is a :class:`RequestError`."""
        answer = self._calls.get(call)
        if answer is None:
            raise RequestError(404, f"no call {call!r}: the calls are {', '.join(self._calls)}")
        try:
            bounds = self._bounds(fields, arrays)
            if call in TOKENIZER_CALLS:  # no model work: never waits behind another request's
                return answer(fields, arrays)
            with self._within(bounds):
                return answer(fields, arrays)
        except CodecError as error:
            raise RequestError(400, str(error)) from None

    def generate(
        self, fields: Fields, arrays: Arrays, stop: threading.Event
    ) -> Generator[Answer, None, None]:
        """A generation's messages: ``{"start": true, "prompt", "prompt_tokens"}`` (its prompt as
        written, before the first step), each step as it is made, then ``{"done": true, …the trace's
        metadata}``; ``stop`` set (or the iterator closed) ends it with ``stop_reason`` ``"stopped"``."""
        try:
            prompt = self._text(fields, "prompt")
            options = self._generate_options(fields)
            bounds = self._bounds(fields, arrays)
        except CodecError as error:
            raise RequestError(400, str(error)) from None
        steps: queue.Queue[tuple[str, Any]] = queue.Queue()
        started = threading.Event()

        def on_step(step: GenerationStep) -> None:
            if not started.is_set():  # the prompt first: a client that stops early re-traces from it
                started.set()
                tokens = self._prompt_tokens(prompt, options, step)
                steps.put(("start", (step.text[: step.token.start], tokens)))
            steps.put(("step", step))

        def run() -> None:
            try:
                with self._within(bounds):
                    trace = self.model.generate(prompt, on_step=on_step, stop_event=stop, **options)
                steps.put(("done", trace))
            except BaseException as error:  # handed to the consumer, raised there
                steps.put(("error", error))

        worker = threading.Thread(target=run, name="deepseek-viz-generate", daemon=True)
        worker.start()
        try:
            while True:
                kind, item = steps.get()
                if kind == "start":
                    prompt_text, tokens = item
                    rows = None if tokens is None else codec.tokens_fields(tokens)
                    yield {"start": True, "prompt": prompt_text, "prompt_tokens": rows}, {}
                elif kind == "step":
                    yield codec.step_fields(item)
                elif kind == "done":
                    meta, meta_arrays = self._metadata(item)
                    yield {"done": True, **meta}, meta_arrays
                    return
                else:
                    raise item
        finally:
            stop.set()
            worker.join()

    # the request's own state ---------------------------------------------------------------------------

    def _bounds(self, fields: Fields, arrays: Arrays) -> tuple[tuple[Intervention, ...], float | None]:
        """The interventions and the time limit (the request's, within the service's) a request carries."""
        interventions = codec.interventions_from(fields.get("interventions"), arrays)
        seconds = fields.get("seconds")
        if seconds is not None and (
            not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0
        ):
            raise CodecError("seconds must be a number of seconds (0 or more) or null")
        bounds = [s for s in (seconds, self.limits.max_seconds) if s is not None]
        return interventions, min(bounds) if bounds else None

    @contextmanager
    def _within(self, bounds: tuple[tuple[Intervention, ...], float | None]) -> Iterator[None]:
        interventions, seconds = bounds
        with self.model.intervene(*interventions), self.model.time_limit(seconds):
            yield

    def _text(self, fields: Fields, name: str = "text") -> str:
        text = fields.get(name)
        if not isinstance(text, str):
            raise CodecError(f"field {name!r} must be a string")
        if len(text) > self.limits.max_chars:
            raise RequestError(
                413,
                f"the text is {len(text)} characters long; this service takes at most {self.limits.max_chars}",
            )
        return text

    def _rows(self, count: int, what: str) -> None:
        if count > self.limits.max_samples:
            raise RequestError(
                413,
                f"{count} {what} in one call; this service takes at most {self.limits.max_samples}: pass a smaller batch_size",
            )

    @staticmethod
    def _int(fields: Fields, name: str, default: int | None = None) -> int:
        value = fields.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise CodecError(f"field {name!r} must be an integer")
        return value

    @staticmethod
    def _ids(fields: Fields, name: str = "ids") -> list[int]:
        return list(codec._ints(fields.get(name), name))

    @staticmethod
    def _tensor(arrays: Arrays, name: str) -> torch.Tensor:
        return codec._array(arrays, name)

    # calls ---------------------------------------------------------------------------------------------

    def _info(self, _fields: Fields, _arrays: Arrays) -> Answer:
        m = self.model
        return {
            "name": m.name,
            "family": m.family,
            "num_layers": m.num_layers,
            "num_heads": m.num_heads,
            "d_model": m.d_model,
            "vocab_size": m.vocab_size,
            "moe_layers": list(m.moe_layers),
            "num_experts": m.num_experts,
            "num_shared_experts": m.num_shared_experts,
            "experts_per_token": m.experts_per_token,
            "routing_group_size": m.routing_group_size,
            "max_tokens": m.max_tokens,
            "pad_token_id": m.pad_token_id,
            "dtype": codec.dtype_name(m.dtype),
            "device": str(m.device),
            "structure": m.structure().to_dict(),
            "revision": self.revision,
            "limits": asdict(self.limits),
        }, {}

    def _tokenize(self, fields: Fields, _arrays: Arrays) -> Answer:
        tokens = self.model.tokenize(self._text(fields), truncate=bool(fields.get("truncate", False)))
        return {"tokens": codec.tokens_fields(tokens)}, {}

    def _encode(self, fields: Fields, _arrays: Arrays) -> Answer:
        return {"ids": self.model.encode(self._text(fields))}, {}

    def _decode(self, fields: Fields, _arrays: Arrays) -> Answer:
        return {"text": self.model.decode(self._ids(fields))}, {}

    def _token_strings(self, fields: Fields, _arrays: Arrays) -> Answer:
        return {"strings": self.model.token_strings(self._ids(fields))}, {}

    def _estimate(self, fields: Fields, _arrays: Arrays) -> Answer:
        target: str | int = self._text(fields) if "text" in fields else self._int(fields, "tokens")
        estimate = self.model.estimate(
            target,
            self._layers(fields),
            thumbnails=self._thumbnails(fields),
            truncate=bool(fields.get("truncate", False)),
        )
        return {"estimate": codec.estimate_fields(estimate)}, {}

    def _input_embeddings(self, _fields: Fields, arrays: Arrays) -> Answer:
        ids = self._tensor(arrays, "ids")
        self._rows(ids.shape[0] if ids.dim() > 1 else 1, "rows of ids")
        return {}, {"embeddings": self.model.input_embeddings(ids.long())}

    def _mean_input_embedding(self, _fields: Fields, _arrays: Arrays) -> Answer:
        return {}, {"embedding": self.model.mean_input_embedding()}

    def _hidden_states(self, fields: Fields, arrays: Arrays) -> Answer:
        """Sequences cross as arrays ``ids`` (all of them, end to end) and ``lengths``; each state
        comes back as one array ``[length, d_model]``."""
        ids, lengths = self._tensor(arrays, "ids"), self._tensor(arrays, "lengths")
        if ids.dim() != 1 or lengths.dim() != 1 or int(lengths.sum()) != ids.numel() or (lengths < 0).any():
            raise RequestError(422, "ids must be the sequences end to end, lengths their lengths")
        self._rows(lengths.numel(), "sequences")
        longest = int(lengths.max()) if lengths.numel() else 0
        if longest > self.model.max_tokens:
            raise RequestError(
                413, f"a sequence of {longest} tokens; this service takes at most {self.model.max_tokens}"
            )
        sequences = [part.tolist() for part in torch.split(ids.long(), lengths.tolist())]
        states = self.model.hidden_states(sequences, self._int(fields, "layer"))
        return {"count": len(states)}, {f"state{i}": state for i, state in enumerate(states)}

    def _head_outputs(self, fields: Fields, _arrays: Arrays) -> Answer:
        return {}, {"outputs": self.model.head_outputs(self._text(fields), self._int(fields, "layer"))}

    def _expert_outputs(self, fields: Fields, _arrays: Arrays) -> Answer:
        expert = fields.get("expert")
        if expert is not None:
            expert = self._int(fields, "expert")
        outputs = self.model.expert_outputs(self._text(fields), self._int(fields, "layer"), expert)
        return {}, {"outputs": outputs}

    def _expert_weight_summary(self, fields: Fields, _arrays: Arrays) -> Answer:
        return {}, {"summary": self.model.expert_weight_summary(self._int(fields, "layer"))}

    def _embeddings(self, fields: Fields, arrays: Arrays) -> tuple[torch.Tensor, list[int]]:
        embeddings = self._tensor(arrays, "embeddings")
        if embeddings.dim() != 3 or embeddings.shape[-1] != self.model.d_model:
            raise RequestError(
                422, f"embeddings of shape {tuple(embeddings.shape)}: give [batch, n, {self.model.d_model}]"
            )
        self._rows(embeddings.shape[0], "rows of embeddings")
        if embeddings.shape[1] > self.model.max_tokens:
            raise RequestError(
                413, f"{embeddings.shape[1]} positions; this service takes at most {self.model.max_tokens}"
            )
        return embeddings, self._ids(fields, "positions")

    def _logits(self, fields: Fields, arrays: Arrays) -> Answer:
        embeddings, positions = self._embeddings(fields, arrays)
        with torch.no_grad():
            return {}, {"logits": self.model.logits(embeddings, positions)}

    def _logits_vjp(self, fields: Fields, arrays: Arrays) -> Answer:
        embeddings, positions = self._embeddings(fields, arrays)
        gradient = self._tensor(arrays, "gradient")
        leaf = embeddings.to(self.model.device, self.model.dtype).requires_grad_(True)
        with torch.enable_grad():
            logits = self.model.logits(leaf, positions)
            if logits.shape != gradient.shape:
                raise RequestError(
                    422, f"a gradient of shape {tuple(gradient.shape)} for logits {tuple(logits.shape)}"
                )
            (result,) = torch.autograd.grad(logits, leaf, gradient.to(logits))
        return {}, {"gradient": result.float()}

    # traces --------------------------------------------------------------------------------------------

    def _layers(self, fields: Fields) -> list[int] | None:
        layers = fields.get("layers")
        return None if layers is None else self._ids(fields, "layers")

    def _thumbnails(self, fields: Fields) -> int | None:
        return None if fields.get("thumbnails") is None else self._int(fields, "thumbnails")

    def _traced(self, fields: Fields) -> Trace:
        """The trace the request's trace arguments name: of ``text`` (tokenized here), or of a
        generated text exactly as it was written: its ``prompt``, the prompt's ``prompt_tokens`` and the
        completion's token ``ids`` (their spans found as generation finds them)."""
        layers, thumbnails = self._layers(fields), self._thumbnails(fields)
        if fields.get("ids") is None:
            text, truncate = self._text(fields), bool(fields.get("truncate", False))
            return self.model.trace(text, layers, truncate=truncate, thumbnails=thumbnails)
        prompt = self._text(fields, "prompt")
        prompt_tokens = codec.tokens_from(fields.get("prompt_tokens"))
        ids = self._ids(fields)
        if len(prompt_tokens) + len(ids) > self.model.max_tokens:
            total = len(prompt_tokens) + len(ids)
            raise RequestError(413, f"{total} tokens; this service takes at most {self.model.max_tokens}")
        return self.model.trace_completion(prompt, prompt_tokens, ids, layers, thumbnails=thumbnails)

    def _prompt_tokens(
        self, prompt: str, options: dict[str, Any], step: GenerationStep
    ) -> list[Token] | None:
        """The tokens of a generation's prompt, known at its first ``step`` (``None`` where they cannot
        be told apart: a chat prompt whose template tokenizes otherwise)."""
        if "prefix" in options:
            return list(options["prefix"])
        if not options["chat"]:
            return self.model.tokenize(prompt)
        text = step.text[: step.token.start]  # the prompt as the chat template wrote it
        tokens = self.model.tokenize(text)
        if len(tokens) == step.position + 1 and tokens[0].special:  # the template wrote its own BOS
            tokens = tokens[1:]
        ids = self.model.encode(text)
        return tokens if [token.id for token in tokens] == ids and len(ids) == step.position else None

    @staticmethod
    def _metadata(trace: Trace) -> Answer:
        completion, arrays = codec.completion_fields(trace.completion)
        return {
            "text": trace.text,
            "tokens": codec.tokens_fields(trace.tokens),
            "truncated": trace.truncated,
            "captured_layers": list(trace.captured_layers),
            "moe_layers": list(trace.moe_layers),
            "nbytes": trace.nbytes,
            "num_layers": trace.num_layers,
            **completion,
        }, arrays

    def _trace(self, fields: Fields, _arrays: Arrays) -> Answer:
        return self._metadata(self._traced(fields))

    def _trace_read(self, fields: Fields, _arrays: Arrays) -> Answer:
        read = fields.get("read")
        reader = _READS.get(read) if isinstance(read, str) else None
        if reader is None:
            raise RequestError(404, f"no trace read {read!r}: the reads are {', '.join(_READS)}")
        return reader(self._traced(fields), fields)

    def _generate_options(self, fields: Fields) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_new_tokens": min(self._int(fields, "max_new_tokens", 64), self.limits.max_new_tokens),
            "min_new_tokens": self._int(fields, "min_new_tokens", 0),
            "temperature": float(fields.get("temperature", 0.0)),
            "top_k": self._int(fields, "top_k", 0),
            "top_p": float(fields.get("top_p", 1.0)),
            "seed": None if fields.get("seed") is None else self._int(fields, "seed"),
            "stop": [str(s) for s in fields.get("stop", [])],
            "chat": bool(fields.get("chat", False)),
            "layers": self._ids(fields, "layers") if fields.get("layers") is not None else (),
            "thumbnails": self._thumbnails(fields),
        }
        if fields.get("prefix") is not None:
            options["prefix"] = codec.tokens_from(fields["prefix"])
        return options


# trace reads: each answers one public Trace method (or property) -----------------------------------------


def _number(fields: Fields, name: str, default: int | None = None) -> int:
    return ModelCalls._int(fields, name, default)


def _optional_ids(fields: Fields, name: str) -> list[int] | None:
    return None if fields.get(name) is None else list(codec._ints(fields[name], name))


def _maybe(array: np.ndarray | None, name: str) -> Answer:
    return ({name: False}, {}) if array is None else ({name: True}, {name: torch.from_numpy(array)})


def _read_attention(trace: Trace, fields: Fields) -> Answer:
    pattern = trace.attention_tensor(_number(fields, "layer"), _optional_ids(fields, "heads"))
    return {}, {"pattern": pattern}


def _read_routing(trace: Trace, fields: Fields) -> Answer:
    return codec.routing_fields(trace.routing(_number(fields, "layer")))


def _read_router_scores(trace: Trace, fields: Fields) -> Answer:
    return {}, {"scores": torch.from_numpy(trace.router_scores(_number(fields, "layer")))}


def _read_top_predictions(trace: Trace, fields: Fields) -> Answer:
    predictions = trace.top_predictions(_number(fields, "k", 5), _optional_ids(fields, "positions"))
    return codec.predictions_fields(predictions)


def _read_next_token_scores(trace: Trace, fields: Fields) -> Answer:
    entropy, nll = trace.next_token_scores(_optional_ids(fields, "targets"))
    return {}, {"entropy": torch.from_numpy(entropy), "nll": torch.from_numpy(nll)}


def _read_logit_lens(trace: Trace, fields: Fields) -> Answer:
    lens = trace.logit_lens(
        _number(fields, "k", 1), _optional_ids(fields, "lens_layers"), _optional_ids(fields, "positions")
    )
    return codec.lens_fields(lens)


_READS: Mapping[str, Callable[[Trace, Fields], Answer]] = {
    "attention_tensor": _read_attention,
    "thumbnails": lambda trace, _fields: _maybe(trace.thumbnails, "thumbnails"),
    "head_scores": lambda trace, _fields: _maybe(trace.head_scores, "head_scores"),
    "hidden_states": lambda trace, _fields: ({}, {"hidden_states": torch.from_numpy(trace.hidden_states)}),
    "hidden_state": lambda trace, fields: (
        {},
        {"state": torch.from_numpy(trace.hidden_state(_number(fields, "layer")))},
    ),
    "routing": _read_routing,
    "router_scores": _read_router_scores,
    "logits": lambda trace, _fields: ({}, {"logits": trace.logits}),
    "top_predictions": _read_top_predictions,
    "next_token_scores": _read_next_token_scores,
    "logit_lens": _read_logit_lens,
}


__all__ = ["ModelCalls", "RequestError", "ServiceLimits"]
