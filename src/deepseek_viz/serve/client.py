"""A model in a model service, standing in for a :class:`~deepseek_viz.HookedModel`: :func:`connect`.

:class:`RemoteModel` implements :class:`~deepseek_viz.model.interface.ModelInterface` by sending each
model call to the service (``POST {url}/v1/call/{call}``, a :mod:`.wire` message each way). Traces stay
on the server: a :class:`RemoteTrace` has :class:`~deepseek_viz.Trace`'s whole API and fetches each read
on first use. Interventions and time limits are this client's state, sent with every call.
"""

from __future__ import annotations

import json
import math
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, Protocol

import numpy as np
import torch

from ..model.errors import ComputationTimeoutError
from ..model.generation import GenerationStep
from ..model.interventions import Intervention
from ..model.memory import TraceEstimate
from ..model.structure import ModelStructure
from ..model.tokens import Token
from ..model.trace import Completion, LogitLens, Prediction, Routing, Trace, answering_key, normalise_layers
from . import codec, wire
from .calls import ModelCalls, RequestError

Fields = dict[str, Any]
Arrays = dict[str, torch.Tensor]
Answer = tuple[Fields, Arrays]
_FRAME = struct.Struct("<I")
#: Reads one :class:`RemoteTrace` keeps (and the bytes of their arrays), and traces one
#: :class:`RemoteModel` keeps.
READS_KEPT, READ_BYTES, TRACES_KEPT = 16, 64 << 20, 8


class ServiceError(RuntimeError):
    """The model service failed, or answered an error this client does not know."""


class Transport(Protocol):
    """How a :class:`RemoteModel` reaches its service."""

    def call(self, name: str, fields: Fields, arrays: Arrays) -> Answer:
        """One call's answer; the service's error raised as itself."""
        ...

    def stream(self, name: str, fields: Fields, arrays: Arrays) -> Generator[Answer, None, None]:
        """A streamed call's messages as they arrive; closing the generator ends the call."""
        ...


def raise_error(fields: Fields, status: int, cause: BaseException | None = None) -> NoReturn:
    """Raise the error of an error answer: the deepseek_viz (or built-in) error it names, a
    :class:`RequestError` for another 4xx, else a :class:`ServiceError`."""
    error = codec.error_from(fields, status)
    message = str(fields.get("error") or f"the model service answered status {status}")
    if error is None:
        error = RequestError(status, message) if 400 <= status < 500 else ServiceError(message)
    raise error from cause


def _checked(answer: Answer) -> Answer:
    fields, _arrays = answer
    if "error" in fields:
        raise_error(fields, int(fields.get("status", 500)))
    return answer


class LocalTransport:
    """The service's calls in this process (for tests): every message still goes through wire bytes,
    and errors come back as the service would answer them."""

    def __init__(self, calls: ModelCalls) -> None:
        self.calls = calls

    @staticmethod
    def _wired(fields: Fields, arrays: Arrays) -> Answer:
        return wire.decode(wire.encode(fields, arrays))

    @staticmethod
    def _failed(error: Exception) -> NoReturn:
        status = error.status if isinstance(error, RequestError) else 500
        raise_error(codec.error_fields(error), status, error)

    def call(self, name: str, fields: Fields, arrays: Arrays) -> Answer:
        """``name`` answered by the in-process :class:`ModelCalls`."""
        request = self._wired(fields, arrays)
        try:
            return self._wired(*self.calls.handle(name, *request))
        except Exception as error:
            self._failed(error)

    def stream(self, name: str, fields: Fields, arrays: Arrays) -> Generator[Answer, None, None]:
        """A generation by the in-process :class:`ModelCalls`; closing the iterator stops it."""
        if name != "generate":
            raise RequestError(404, f"no streamed call {name!r}")
        messages = self.calls.generate(*self._wired(fields, arrays), threading.Event())
        try:
            for message in messages:
                yield self._wired(*message)
        except Exception as error:
            self._failed(error)
        finally:
            messages.close()


class HttpTransport:
    """The service over HTTP (httpx): ``POST {url}/v1/call/{name}`` and ``POST {url}/v1/generate``."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 600.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"Content-Type": wire.MEDIA_TYPE}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._httpx = httpx
        self._client = httpx.Client(headers=headers, timeout=timeout)

    def _unreachable(self, error: Exception) -> ServiceError:
        return ServiceError(f"the model service at {self.url} does not answer ({error})")

    def _failed(self, status: int, body: bytes) -> NoReturn:
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            fields = {"error": body.decode("utf-8", "replace")[:500] or None}
        raise_error(fields, status)

    def call(self, name: str, fields: Fields, arrays: Arrays) -> Answer:
        """One call over HTTP."""
        try:
            response = self._client.post(f"{self.url}/v1/call/{name}", content=wire.encode(fields, arrays))
        except self._httpx.TransportError as error:
            raise self._unreachable(error) from None
        if response.status_code != 200:
            self._failed(response.status_code, response.content)
        return _checked(wire.decode(response.content))

    def stream(self, name: str, fields: Fields, arrays: Arrays) -> Generator[Answer, None, None]:
        """A generation over HTTP: length-prefixed messages; closing the iterator closes the stream."""
        url = f"{self.url}/v1/{name}"
        try:
            with self._client.stream("POST", url, content=wire.encode(fields, arrays)) as response:
                if response.status_code != 200:
                    self._failed(response.status_code, response.read())
                buffer = bytearray()
                for chunk in response.iter_bytes():
                    buffer += chunk
                    while len(buffer) >= _FRAME.size:
                        (length,) = _FRAME.unpack_from(buffer)
                        if len(buffer) < _FRAME.size + length:
                            break
                        message = bytes(buffer[_FRAME.size : _FRAME.size + length])
                        del buffer[: _FRAME.size + length]
                        yield _checked(wire.decode(message))
        except self._httpx.TransportError as error:
            raise self._unreachable(error) from None

    def close(self) -> None:
        """Close the connections."""
        self._client.close()


class _Kept:
    """A small LRU of at most ``size`` entries holding at most ``max_bytes`` of arrays (an answer
    larger than that alone is not kept), safe to use from several threads (a view's background fill
    and the kernel's)."""

    def __init__(self, size: int, max_bytes: int | None = None) -> None:
        self.size, self.max_bytes = size, max_bytes
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, key: Any, value: Any, nbytes: int = 0) -> Any:
        if self.max_bytes is not None and nbytes > self.max_bytes:
            return value
        with self._lock:
            self._items[key] = (value, nbytes)
            self._items.move_to_end(key)
            while len(self._items) > self.size or (
                self.max_bytes is not None and sum(size for _, size in self._items.values()) > self.max_bytes
            ):
                self._items.popitem(last=False)
        return value

    def find(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        return None

    def find_trace(self, key: tuple[Any, ...]) -> Any:
        """The kept trace that answers trace ``key`` (the model's own rule, :func:`answering_key`)."""
        with self._lock:
            best = answering_key(reversed(self._items), key)
            if best is None:
                return None
            self._items.move_to_end(best)
            return self._items[best][0]


class RemoteTrace(Trace):
    """A trace held by the service: :class:`~deepseek_viz.Trace`'s API, each read fetched on first
    use (``trace_read``, under the interventions the trace ran with) and kept (the last
    :data:`READS_KEPT`)."""

    def __init__(
        self,
        model: RemoteModel,
        arguments: Fields,
        interventions: tuple[Intervention, ...],
        fields: Fields,
        arrays: Arrays,
    ) -> None:
        self._model = model
        self._args = arguments
        self.text = str(fields["text"])
        self.tokens = codec.tokens_from(fields["tokens"])
        self.truncated = bool(fields["truncated"])
        self.num_layers = int(fields["num_layers"])
        self.interventions = interventions
        self.completion: Completion | None = codec.completion_from(fields, arrays)
        self._captured = tuple(fields["captured_layers"])
        self._full_read: int | None = None  # the last layer read for every head, as Trace keeps one
        self._moe = tuple(fields["moe_layers"])
        self._nbytes = int(fields["nbytes"])
        self._reads = _Kept(READS_KEPT, READ_BYTES)
        if self.completion is not None and "ids" not in arguments:  # later reads re-trace it as written
            self._args = self._generated_arguments(arguments)

    def _generated_arguments(self, arguments: Fields) -> Fields:
        assert self.completion is not None
        start = self.completion.prompt_length
        prompt = self.text[: self.tokens[start].start] if start < len(self.tokens) else self.text
        return {
            **{k: v for k, v in arguments.items() if k not in ("text", "truncate")},
            "prompt": prompt,
            "prompt_tokens": codec.tokens_fields(self.tokens[:start]),
            "ids": [token.id for token in self.tokens[start:]],
        }

    def _fetch(self, read: str, **parameters: Any) -> Answer:
        key = (read, json.dumps(parameters, sort_keys=True))
        found = self._reads.find(key)
        if found is None:
            fields = {**self._args, **parameters, "read": read}
            found = self._model._call("trace_read", fields, {}, self.interventions, own=True)
            nbytes = sum(array.numel() * array.element_size() for array in found[1].values())
            self._reads.keep(key, found, nbytes)
        return found

    @property
    def nbytes(self) -> int:
        """Bytes the trace holds on the server (as it was made)."""
        return self._nbytes

    @property
    def captured_layers(self) -> tuple[int, ...]:
        """Layers whose patterns (of every head) this trace holds: those the server's trace kept from
        its forward and the last one read for all heads."""
        read = () if self._full_read is None else (self._full_read,)
        return tuple(sorted({*self._captured, *read}))

    @property
    def moe_layers(self) -> tuple[int, ...]:
        """Layers with routing in this trace."""
        return self._moe

    def attention_tensor(self, layer: int, heads: Sequence[int] | None = None) -> torch.Tensor:
        """The pattern of ``layer``, ``[head, query, key]`` (the ``heads`` given; default all)."""
        index = self._layer(layer)
        chosen = None if heads is None else [int(head) for head in heads]
        pattern = self._fetch("attention_tensor", layer=index, heads=chosen)[1]["pattern"]
        if index not in self._captured and self._full_read != index:  # Trace keeps one such read
            self._full_read = index if chosen is None else None
        return pattern

    @property
    def thumbnails(self) -> np.ndarray | None:
        """Every layer's attention as block means ``[layer, head, bins, bins]``, or ``None``."""
        fields, arrays = self._fetch("thumbnails")
        return arrays["thumbnails"].numpy() if fields["thumbnails"] else None

    @property
    def head_scores(self) -> np.ndarray | None:
        """Per-head scores ``[layer, head, 4]`` (see :attr:`Trace.head_scores`), or ``None``."""
        fields, arrays = self._fetch("head_scores")
        return arrays["head_scores"].numpy() if fields["head_scores"] else None

    @property
    def hidden_states(self) -> np.ndarray:
        """Residual stream after each layer, float32 ``[num_layers + 1, n, d_model]``."""
        return self._fetch("hidden_states")[1]["hidden_states"].numpy()

    def hidden_state(self, layer: int) -> np.ndarray:
        """One layer's residual stream, float32 ``[n, d_model]`` (only that layer crosses)."""
        return self._fetch("hidden_state", layer=int(layer))[1]["state"].numpy()

    def routing(self, layer: int) -> Routing | None:
        """The MoE routing of ``layer``, or ``None`` when that layer is dense."""
        if self._layer(layer) not in self._moe:
            return None
        return codec.routing_from(*self._fetch("routing", layer=layer))

    def router_scores(self, layer: int) -> np.ndarray:
        """The router's logits over every routed expert of MoE ``layer``, float32 ``[n, num_experts]``."""
        return self._fetch("router_scores", layer=layer)[1]["scores"].numpy()

    @property
    def logits(self) -> torch.Tensor:
        """Next-token logits, float32 ``[n, vocab]`` (all of them cross: prefer :meth:`top_predictions`)."""
        return self._fetch("logits")[1]["logits"]

    def top_predictions(self, k: int = 5, positions: Iterable[int] | None = None) -> list[list[Prediction]]:
        """For each position (default: all), the ``k`` most probable next tokens."""
        chosen = None if positions is None else [int(p) for p in positions]
        return codec.predictions_from(*self._fetch("top_predictions", k=k, positions=chosen))

    def next_token_scores(self, targets: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """At each position: the next-token entropy and the NLL of ``targets`` (see :class:`Trace`)."""
        chosen = None if targets is None else [int(t) for t in targets]
        arrays = self._fetch("next_token_scores", targets=chosen)[1]
        return arrays["entropy"].numpy(), arrays["nll"].numpy()

    def logit_lens(
        self, k: int = 1, layers: Iterable[int] | None = None, positions: Iterable[int] | None = None
    ) -> LogitLens:
        """Top-``k`` next tokens read from the hidden states of ``layers`` at ``positions``."""
        return codec.lens_from(
            *self._fetch(
                "logit_lens",
                k=k,
                lens_layers=None if layers is None else [int(layer) for layer in layers],
                positions=None if positions is None else [int(p) for p in positions],
            )
        )

    def __repr__(self) -> str:
        return f"Remote{super().__repr__()}"


class _State(threading.local):
    """One thread's interventions and deadline (each thread its own, as each request its own)."""

    def __init__(self) -> None:
        self.interventions: tuple[Intervention, ...] = ()
        self.deadline: tuple[float, float] | None = None  # (monotonic end, seconds allowed)


class _RemoteLogits(torch.autograd.Function):
    """``logits`` of a remote model, its backward one ``logits_vjp`` call."""

    @staticmethod
    def forward(
        ctx: Any,
        model: RemoteModel,
        positions: list[int],
        interventions: tuple[Any, ...],
        embeddings: torch.Tensor,
    ) -> torch.Tensor:
        ctx.model, ctx.positions, ctx.interventions = model, positions, interventions
        ctx.save_for_backward(embeddings)
        fields = {"positions": positions}
        return model._call("logits", fields, {"embeddings": embeddings.detach()}, interventions, own=True)[1][
            "logits"
        ]

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[None, None, None, torch.Tensor]:
        (embeddings,) = ctx.saved_tensors
        arrays = {"embeddings": embeddings.detach(), "gradient": gradient.float().contiguous()}
        answer = ctx.model._call(
            "logits_vjp", {"positions": ctx.positions}, arrays, ctx.interventions, own=True
        )
        return None, None, None, answer[1]["gradient"].to(embeddings.dtype)


class RemoteModel:
    """A model held by a model service (see :func:`connect`), with the same interface as
    :class:`~deepseek_viz.HookedModel`. ``device`` is this client's (the CPU: tensors come back here);
    ``server_device`` is where the service computes."""

    def __init__(self, transport: Transport, url: str = "local") -> None:
        self.transport = transport
        self.url = url
        self._state = _State()
        self._lock = threading.RLock()  # one time_limit block at a time, as HookedModel's
        #: Most seconds the model work of one request may take (``None``: the service's bound alone).
        self.max_seconds: float | None = None
        info = self._call("info", {}, {})[0]
        self.info: Fields = info
        self.revision: str = info["revision"]
        self.server_device = torch.device(info["device"])
        self._dtype = codec.dtype_from(info["dtype"])
        self._structure = ModelStructure.from_dict(info["structure"])
        self._traces = _Kept(TRACES_KEPT)
        self._tokens = _Kept(64)
        self._mean_embedding: torch.Tensor | None = None

    # the model's description ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The checkpoint's name (or path) on the service."""
        return str(self.info["name"])

    @property
    def family(self) -> str:
        """The transformers ``model_type``."""
        return str(self.info["family"])

    @property
    def num_layers(self) -> int:
        """Number of decoder layers."""
        return int(self.info["num_layers"])

    @property
    def num_heads(self) -> int:
        """Attention heads per layer."""
        return int(self.info["num_heads"])

    @property
    def d_model(self) -> int:
        """Width of the residual stream."""
        return int(self.info["d_model"])

    @property
    def vocab_size(self) -> int:
        """Rows of the input embedding."""
        return int(self.info["vocab_size"])

    @property
    def moe_layers(self) -> tuple[int, ...]:
        """Indices of the MoE layers."""
        return tuple(self.info["moe_layers"])

    @property
    def num_experts(self) -> int:
        """Routed experts per MoE layer."""
        return int(self.info["num_experts"])

    @property
    def num_shared_experts(self) -> int:
        """Shared experts every token of an MoE layer uses."""
        return int(self.info["num_shared_experts"])

    @property
    def experts_per_token(self) -> int:
        """The router's top-k."""
        return int(self.info["experts_per_token"])

    @property
    def routing_group_size(self) -> int:
        """Experts per routing group, 0 when ungrouped."""
        return int(self.info["routing_group_size"])

    @property
    def max_tokens(self) -> int:
        """Most tokens of one trace (the model's limit within the service's)."""
        return int(self.info["max_tokens"])

    @property
    def pad_token_id(self) -> int | None:
        """The pad (or EOS) token, or ``None``."""
        value = self.info["pad_token_id"]
        return None if value is None else int(value)

    @property
    def device(self) -> torch.device:
        """Where tensors this model returns live, and where tensors given to it may be: the CPU."""
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """The model's floating-point type."""
        return self._dtype

    def structure(self) -> ModelStructure:
        """The model's parts, as the service counted them."""
        return self._structure

    def close(self) -> None:
        """Close the transport's connections (an :class:`HttpTransport`'s); the service keeps running."""
        close = getattr(self.transport, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        return f"RemoteModel({self.name!r} at {self.url}, layers={self.num_layers}, heads={self.num_heads})"

    # interventions and time limits ---------------------------------------------------------------------

    @property
    def interventions(self) -> tuple[Intervention, ...]:
        """The interventions in force now in this thread (``()`` outside :meth:`intervene` blocks)."""
        return self._state.interventions

    @contextmanager
    def intervene(self, *interventions: Intervention) -> Iterator[None]:
        """Every call inside the block carries ``interventions`` on top of those already in force."""
        previous = self._state.interventions
        self._state.interventions = previous + tuple(interventions)
        try:
            yield
        finally:
            self._state.interventions = previous

    @contextmanager
    def time_limit(self, seconds: float | None = None) -> Iterator[None]:
        """Every call inside the block shares one deadline, ``seconds`` (default :attr:`max_seconds`)
        from now; a block inside another keeps the outer deadline. One block at a time, as with a
        local model: other threads' blocks wait."""
        seconds = self.max_seconds if seconds is None else seconds
        with self._lock:
            if seconds is None or self._state.deadline is not None:
                yield
                return
            self._state.deadline = (time.monotonic() + seconds, seconds)
            try:
                yield
            finally:
                self._state.deadline = None

    def _seconds(self) -> float | None:
        deadline = self._state.deadline
        if deadline is None:
            return self.max_seconds
        if not math.isfinite(deadline[0]):
            return None
        left = deadline[0] - time.monotonic()
        if left <= 0:
            raise ComputationTimeoutError(deadline[1])
        return left

    def _request(
        self, fields: Fields, arrays: Arrays, interventions: tuple[Intervention, ...] | None, own: bool
    ) -> Answer:
        """``fields`` and ``arrays`` with the interventions (those in force, plus ``interventions``;
        ``own``: exactly ``interventions``) and the time left."""
        chosen = tuple(interventions or ()) if own else self.interventions + tuple(interventions or ())
        described, intervention_arrays = codec.interventions_fields(chosen, prefix="intervention.")
        return (
            {**fields, "interventions": described, "seconds": self._seconds()},
            {**arrays, **intervention_arrays},
        )

    def _call(
        self,
        name: str,
        fields: Fields,
        arrays: Arrays,
        interventions: tuple[Intervention, ...] | None = None,
        *,
        own: bool = False,
    ) -> Answer:
        return self.transport.call(name, *self._request(fields, arrays, interventions, own))

    # calls ---------------------------------------------------------------------------------------------

    def trace(
        self,
        text: str,
        layers: Iterable[int] | None = None,
        *,
        truncate: bool = False,
        thumbnails: int | None = None,
        interventions: Sequence[Intervention] = (),
    ) -> Trace:
        """The service's trace of ``text`` (its metadata now, each read when asked; kept here too)."""
        chosen = None if layers is None else [int(layer) for layer in layers]
        active = self.interventions + tuple(interventions)
        key = (text, normalise_layers(chosen, self.num_layers), truncate, thumbnails, active)
        found = self._traces.find_trace(key)
        if found is not None:
            return found
        arguments = {"text": text, "layers": chosen, "truncate": truncate, "thumbnails": thumbnails}
        answer = self._call("trace", arguments, {}, active, own=True)
        return self._traces.keep(key, RemoteTrace(self, arguments, active, *answer))

    def generate(
        self,
        prompt: str,
        max_new_tokens: int = 64,
        *,
        min_new_tokens: int = 0,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
        chat: bool = False,
        layers: Iterable[int] = (),
        thumbnails: int | None = None,
        on_step: Callable[[GenerationStep], None] | None = None,
        stop_event: threading.Event | None = None,
        prefix: Sequence[Token] | None = None,
    ) -> Trace:
        """A completion of ``prompt`` written by the service (see :meth:`HookedModel.generate`): each
        step handed to ``on_step`` as it arrives; ``stop_event`` set closes the stream (the service
        stops) and the trace of what arrived is returned with ``stop_reason`` ``"stopped"``."""
        fields = {
            "prompt": prompt,
            "max_new_tokens": max_new_tokens,
            "min_new_tokens": min_new_tokens,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "seed": seed,
            "stop": list(stop),
            "chat": chat,
            "layers": [int(layer) for layer in layers],
            "thumbnails": thumbnails,
            "prefix": None if prefix is None else codec.tokens_fields(prefix),
        }
        active = self.interventions
        start: Fields = {}
        steps: list[GenerationStep] = []
        messages = self.transport.stream("generate", *self._request(fields, {}, None, own=False))
        try:
            for message, arrays in messages:
                if message.get("done"):
                    arguments = {
                        "text": message["text"],
                        "layers": fields["layers"],
                        "thumbnails": thumbnails,
                    }
                    return RemoteTrace(self, arguments, active, message, arrays)
                if message.get("start"):
                    start = message
                    continue
                steps.append(codec.step_from(message, arrays))
                if on_step is not None:
                    on_step(steps[-1])
                if stop_event is not None and stop_event.is_set():
                    break
            else:
                raise ServiceError(f"the model service at {self.url} ended the generation before its end")
        finally:
            messages.close()
        return self._stopped(start, steps, fields, active)

    def _stopped(
        self, start: Fields, steps: list[GenerationStep], fields: Fields, active: tuple[Intervention, ...]
    ) -> Trace:
        """The trace of a generation stopped here after ``steps``: the prompt as the service wrote it
        and the tokens that arrived, traced again by the service."""
        if not steps or start.get("prompt_tokens") is None:
            raise ServiceError("the generation was stopped before the service said how it read the prompt")
        arguments = {
            "prompt": start["prompt"],
            "prompt_tokens": start["prompt_tokens"],
            "ids": [step.token.id for step in steps],
            "layers": fields["layers"],
            "thumbnails": fields["thumbnails"],
        }
        message, arrays = self._call("trace", arguments, {}, active, own=True)
        trace = RemoteTrace(self, arguments, active, message, arrays)
        trace.completion = Completion(
            prompt_length=len(start["prompt_tokens"]),
            probs=np.asarray([step.prob for step in steps], dtype=np.float32),
            entropies=np.asarray([step.entropy for step in steps], dtype=np.float32),
            stop_reason="stopped",
        )
        return trace

    def estimate(
        self,
        text_or_n_tokens: str | int,
        layers: Iterable[int] | None = None,
        *,
        thumbnails: int | None = None,
        truncate: bool = False,
    ) -> TraceEstimate:
        """The memory the same trace would need on the service."""
        target = (
            {"text": text_or_n_tokens}
            if isinstance(text_or_n_tokens, str)
            else {"tokens": int(text_or_n_tokens)}
        )
        chosen = None if layers is None else [int(layer) for layer in layers]
        fields = {**target, "layers": chosen, "thumbnails": thumbnails, "truncate": truncate}
        return codec.estimate_from(self._call("estimate", fields, {})[0]["estimate"])

    def tokenize(self, text: str, *, truncate: bool = False) -> list[Token]:
        """The tokens ``trace(text, truncate=truncate)`` shows (BOS first)."""
        key = (text, truncate)
        found = self._tokens.find(key)
        if found is None:
            rows = self._call("tokenize", {"text": text, "truncate": truncate}, {})[0]["tokens"]
            found = self._tokens.keep(key, codec.tokens_from(rows))
        return list(found)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` alone."""
        return list(self._call("encode", {"text": text}, {})[0]["ids"])

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids."""
        return str(self._call("decode", {"ids": [int(i) for i in ids]}, {})[0]["text"])

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        """The vocabulary string of each token id."""
        return list(self._call("token_strings", {"ids": [int(i) for i in ids]}, {})[0]["strings"])

    def _batch(self) -> int:
        return int(self.info["limits"]["max_samples"])

    def input_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """The input embeddings of token ids ``[...] → [..., d_model]``."""
        flat = ids.reshape(-1, ids.shape[-1]) if ids.dim() > 1 else ids.reshape(1, -1)
        parts = [
            self._call("input_embeddings", {}, {"ids": flat[start : start + self._batch()].long()})[1][
                "embeddings"
            ]
            for start in range(0, flat.shape[0], self._batch())
        ]
        return torch.cat(parts).reshape(*ids.shape, self.d_model)

    def mean_input_embedding(self) -> torch.Tensor:
        """The mean input embedding over the vocabulary (fetched once)."""
        if self._mean_embedding is None:
            self._mean_embedding = self._call("mean_input_embedding", {}, {})[1]["embedding"]
        return self._mean_embedding

    def hidden_states(self, sequences: Sequence[Sequence[int]], layer: int) -> list[torch.Tensor]:
        """Hidden state ``layer`` of each id sequence, in batches of the service's ``max_samples``."""
        states: list[torch.Tensor] = []
        rows = [[int(i) for i in sequence] for sequence in sequences]
        for start in range(0, len(rows), self._batch()):
            batch = rows[start : start + self._batch()]
            wired = {
                "ids": torch.tensor([i for sequence in batch for i in sequence], dtype=torch.long),
                "lengths": torch.tensor([len(sequence) for sequence in batch], dtype=torch.long),
            }
            fields, arrays = self._call("hidden_states", {"layer": layer}, wired)
            states.extend(arrays[f"state{i}"] for i in range(int(fields["count"])))
        return states

    def head_outputs(self, text: str, layer: int) -> torch.Tensor:
        """Each head's output at each token of ``text``, float32 ``[n, heads, head width]``."""
        return self._call("head_outputs", {"text": text, "layer": layer}, {})[1]["outputs"]

    def expert_weight_summary(self, layer: int) -> torch.Tensor:
        """The router's weight rows of MoE ``layer``, float32 ``[num_experts, d_model]``."""
        return self._call("expert_weight_summary", {"layer": layer}, {})[1]["summary"]

    def expert_outputs(self, text: str, layer: int, expert: int | None = None) -> torch.Tensor:
        """What MoE ``layer``'s routed experts (or ``expert``) add at each token, float32 ``[n, d_model]``."""
        return self._call("expert_outputs", {"text": text, "layer": layer, "expert": expert}, {})[1][
            "outputs"
        ]

    def logits(self, embeddings: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
        """Logits at ``positions`` of a batch of input-embedding sequences, float32 ``[batch,
        len(positions), vocab]``; differentiable in ``embeddings`` when autograd is on (the backward is
        one call to the service per batch of ``max_samples`` rows)."""
        chosen = [int(position) for position in positions]
        parts = []
        for start in range(0, max(embeddings.shape[0], 1), self._batch()):
            rows = embeddings[start : start + self._batch()].cpu()
            if torch.is_grad_enabled() and rows.requires_grad:
                parts.append(_RemoteLogits.apply(self, chosen, self.interventions, rows))
            else:
                fields = {"positions": chosen}
                parts.append(self._call("logits", fields, {"embeddings": rows.detach()})[1]["logits"])
        return torch.cat(parts) if len(parts) > 1 else parts[0]


def connect(url: str, token: str | None = None, *, transport: Transport | None = None) -> RemoteModel:
    """The model served at ``url`` (``deepseek-viz serve``), usable wherever a local model is;
    ``token``: the service's bearer token; ``transport``: another way to reach it (tests:
    ``LocalTransport(ModelCalls(model))``)."""
    return RemoteModel(transport if transport is not None else HttpTransport(url, token), url)
