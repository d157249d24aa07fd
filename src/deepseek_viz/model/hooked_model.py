"""A causal LM wrapped so that one call traces a text: tokens, attention, hidden states, routing."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import LogitsProcessorList, StoppingCriteriaList

from . import attention_capture
from .architecture import read_architecture
from .errors import (
    AttentionUnavailableError,
    ComputationTimeoutError,
    DeepseekVizError,
    EmptyTextError,
    InvalidTextError,
    LayerOutOfRangeError,
    TextTooLongError,
    TraceTooLargeError,
    UnsupportedModelError,
)
from .generation import (
    CompletionText,
    Generation,
    GenerationStep,
    Sampling,
    StepObserver,
    StepStreamer,
    StopWhen,
)
from .interventions import POSITIONAL, Intervention, ResidualPatch, expert_contribution, installed
from .memory import TraceEstimate, format_bytes, free_memory
from .structure import ModelStructure, read_structure
from .tokens import Token, tokens_from_offsets
from .trace import Completion, Routing, Trace

DEFAULT_MAX_TOKENS = 4096
#: Most bytes the cached traces of one model hold together (attention patterns grow with n² per layer).
DEFAULT_CACHE_BYTES = 1 << 30


class _Reached(Exception):  # not an error: the forward got as far as it needed to
    """Raised by a forward hook to end a forward pass at the module whose output is wanted."""

    def __init__(self, output: torch.Tensor) -> None:
        super().__init__()
        self.output = output


class TraceOutOfMemoryError(DeepseekVizError, MemoryError):
    """The device ran out of memory in a model call; the trace cache was freed and the model is usable."""


def _is_out_of_memory(error: BaseException) -> bool:
    """CUDA running out of memory, or a CPU allocation failure (a ``RuntimeError`` from torch's allocator)."""
    message = str(error)
    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError)
        and ("can't allocate memory" in message or "DefaultCPUAllocator" in message)
    )


def _execution_device(module: nn.Module) -> torch.device:
    """Where ``module`` computes: its weights' device, or, for weights that accelerate offloaded (on the
    ``meta`` device until used), the device its hook brings them to."""
    device = next(module.parameters()).device
    execution = getattr(getattr(module, "_hf_hook", None), "execution_device", None)
    if device.type == "meta" and execution is not None:
        return torch.device(execution)
    return device


class _GuardedGradient(torch.autograd.Function):
    """A differentiable model call whose backward pass also runs through :meth:`HookedModel._call`."""

    @staticmethod
    def forward(
        ctx: Any,
        model: HookedModel,
        run: Callable[[torch.Tensor], torch.Tensor],
        advice: str,
        inputs: torch.Tensor,
    ) -> torch.Tensor:
        leaf = inputs.detach().requires_grad_(True)
        with model._call(advice), torch.enable_grad():
            output = run(leaf)
        ctx.model, ctx.advice, ctx.leaf, ctx.output = model, advice, leaf, output
        return output.detach()

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[None, None, None, torch.Tensor]:
        with ctx.model._call(f"{ctx.advice} (in the backward pass)"):
            (inputs_gradient,) = torch.autograd.grad(ctx.output, ctx.leaf, gradient)
        return None, None, None, inputs_gradient


class HookedModel:
    """A transformers causal LM and its fast tokenizer, traced one text at a time.

    ``max_tokens`` bounds the tokens of one trace (default: the model's ``max_position_embeddings``, at
    most 4096). Longer texts raise :class:`TextTooLongError` unless ``trace(..., truncate=True)`` is
    asked for, which keeps the first ``max_tokens`` tokens and sets ``trace.truncated``.
    ``max_seconds`` bounds the model work of one request (default ``None``: unbounded; see
    :meth:`time_limit`), e.g. in a public app.
    Traces are cached by their arguments: the ``cache_size`` most recent, as long as together they hold
    at most ``cache_bytes`` (a trace larger than that alone is returned but not kept); a cached trace of
    the same text answers a request with the same thumbnails (or none) and any layers (the layers it did
    not keep are computed when read); :meth:`generate` caches its trace under its text too.
    ``memory_budget`` bounds the bytes of one trace (:meth:`estimate`; default ``None``: the device's
    free memory at the time, less a margin); a trace over it raises :class:`TraceTooLargeError` before
    any work starts.

    It implements :class:`~deepseek_viz.model.interface.ModelInterface`; every method that runs the model
    goes through one gateway (:meth:`_call`): one call at a time, the deadline, out-of-memory errors and
    MLA's fast SDPA path. Making the first one installs the SDPA wrapper (see :mod:`.attention_capture`).
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        max_tokens: int | None = None,
        cache_size: int = 4,
        name: str | None = None,
        max_seconds: float | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        memory_budget: int | None = None,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise UnsupportedModelError("deepseek-viz needs a fast tokenizer (for character offsets).")
        attention_capture.install()
        self.model = model.eval()
        self.tokenizer = tokenizer
        config = model.config
        if getattr(config, "_attn_implementation", None) != "sdpa":
            model.set_attn_implementation("sdpa")  # type: ignore[operator]
        self.arch = read_architecture(model)
        get_input_embeddings: Any = model.get_input_embeddings
        self._embedding: nn.Embedding = get_input_embeddings()
        positions = getattr(config, "max_position_embeddings", None) or DEFAULT_MAX_TOKENS
        self.max_tokens = max_tokens if max_tokens is not None else min(positions, DEFAULT_MAX_TOKENS)
        self.name = name or str(getattr(config, "_name_or_path", "") or type(model).__name__)
        self._cache: OrderedDict[tuple[Any, ...], Trace] = OrderedDict()
        self._cache_size = cache_size
        self._cache_bytes = cache_bytes
        self._lock = threading.RLock()  # re-entrant: a trace inside a time_limit, scoring inside explain
        self.max_seconds = max_seconds
        #: Most bytes one trace may need (:meth:`estimate`); ``None``: the device's free memory less a margin.
        self.memory_budget = memory_budget
        self._deadline: tuple[float, float] | None = None  # (monotonic end, seconds allowed)
        self._interventions: tuple[Intervention, ...] = ()  # in force now (see intervene)
        self._intervention_hooks: contextlib.ExitStack | None = None

    @property
    def num_layers(self) -> int:
        """Number of decoder layers."""
        return len(self.arch.layers)

    @property
    def num_heads(self) -> int:
        """Attention heads per layer."""
        return self.arch.num_heads

    @property
    def moe_layers(self) -> tuple[int, ...]:
        """Indices of the layers whose MLP is a routed mixture of experts."""
        return tuple(sorted(self.arch.routers))

    @property
    def num_experts(self) -> int:
        """Routed experts per MoE layer (0 for a dense model)."""
        return self.arch.num_routed_experts if self.arch.routers else 0

    @property
    def num_shared_experts(self) -> int:
        """Shared experts every token of an MoE layer uses."""
        return self.arch.num_shared_experts if self.arch.routers else 0

    @property
    def experts_per_token(self) -> int:
        """Routed experts each token is sent to (the router's top-k)."""
        return self.arch.experts_per_token if self.arch.routers else 0

    @property
    def routing_group_size(self) -> int:
        """Experts per group under group-limited routing, 0 when routing is ungrouped."""
        return self.arch.routing_group_size

    @property
    def d_model(self) -> int:
        """Width of the residual stream (and of the input embeddings)."""
        return int(self._embedding.weight.shape[1])

    @property
    def vocab_size(self) -> int:
        """Rows of the input embedding (token ids run ``0 … vocab_size - 1``)."""
        return int(self._embedding.weight.shape[0])

    @property
    def pad_token_id(self) -> int | None:
        """The tokenizer's pad token, else its EOS token, else ``None``."""
        for name in ("pad_token_id", "eos_token_id"):
            value = getattr(self.tokenizer, name, None)
            if isinstance(value, int):
                return value
        return None

    @property
    def family(self) -> str:
        """The transformers ``model_type`` (e.g. ``deepseek_v3``)."""
        return self.arch.family

    @property
    def device(self) -> torch.device:
        """Where the model computes its input embeddings (input ids go there); with a device map, other
        layers may be elsewhere."""
        return _execution_device(self._embedding)

    @property
    def dtype(self) -> torch.dtype:
        """The model's floating-point type."""
        return next(self.model.parameters()).dtype

    def structure(self) -> ModelStructure:
        """The model's parts with their parameters, dtypes and devices (see :mod:`.structure`)."""
        return read_structure(self.model, self.arch, name=self.name)

    def __repr__(self) -> str:
        return (
            f"HookedModel({self.name!r}, family={self.family}, layers={self.num_layers}, "
            f"heads={self.num_heads}, moe_layers={list(self.moe_layers)}, device={self.device}, dtype={self.dtype})"
        )

    def _normalise_layers(self, layers: Iterable[int] | None) -> tuple[int, ...]:
        if layers is None:
            return tuple(range(self.num_layers))
        chosen = set()
        for layer in layers:
            if not -self.num_layers <= layer < self.num_layers:
                raise LayerOutOfRangeError(
                    f"layer {layer} is out of range: the model has {self.num_layers} layers (0–{self.num_layers - 1})"
                )
            chosen.add(layer % self.num_layers)
        return tuple(sorted(chosen))

    def trace(
        self,
        text: str,
        layers: Iterable[int] | None = None,
        *,
        truncate: bool = False,
        thumbnails: int | None = None,
        interventions: Sequence[Intervention] = (),
    ) -> Trace:
        """Run ``text`` through the model once and capture what the views need.

        ``layers`` are the layers whose full attention patterns are kept (``None``: all); memory for the
        patterns grows with these layers only, and any other layer's is computed from its input when read
        (:meth:`Trace.attention`). ``thumbnails=B`` also keeps every layer's pattern shrunk to ``B × B``
        block means (``trace.thumbnails``). Routing and hidden states cover every layer.
        A trace whose :meth:`estimate` is over :attr:`memory_budget` raises :class:`TraceTooLargeError`
        before it starts (ask for fewer layers or a shorter text). ``interventions`` are in force for this
        trace on top of those of an enclosing :meth:`intervene` (the trace keeps them:
        ``trace.interventions``).
        """
        chosen = self._normalise_layers(layers)
        if thumbnails is not None and thumbnails < 1:
            raise ValueError(f"thumbnails must be a positive number of bins, not {thumbnails}")
        with self.intervene(*interventions):
            cached = self._cached((text, chosen, truncate, thumbnails, self._interventions))
            if cached is not None:
                return cached
            result = self._run(text, chosen, truncate, thumbnails)
            self._keep(text, chosen, thumbnails, result)
            return result

    def trace_completion(
        self,
        prompt: str,
        prompt_tokens: Sequence[Token],
        ids: Sequence[int],
        layers: Iterable[int] | None = None,
        *,
        thumbnails: int | None = None,
    ) -> Trace:
        """The trace :meth:`generate` returns for ``prompt`` read as ``prompt_tokens`` and completed
        with token ``ids`` (their text and spans found as generation finds them), under the
        interventions in force: a generated trace made again from its tokens, which tokenizing its text
        might split otherwise. Cached like a trace (generate's own trace of them answers it)."""
        chosen = self._normalise_layers(layers)
        special = set(getattr(self.tokenizer, "all_special_ids", []))
        completion = CompletionText(prompt, self.decode, special)
        completion.ids = [int(token_id) for token_id in ids]
        text, generated = completion.tokens()
        tokens = [*prompt_tokens, *generated]
        if len(tokens) > self.max_tokens:
            raise TextTooLongError(len(tokens), self.max_tokens)
        with self._lock:
            cached = self._cached((prompt + text, chosen, False, thumbnails, self._interventions))
            if cached is not None and cached.tokens == tokens:
                return cached
            result = self._run_tokens(prompt + text, tokens, chosen, thumbnails)
            self._keep(prompt + text, chosen, thumbnails, result)
            return result

    @property
    def interventions(self) -> tuple[Intervention, ...]:
        """The interventions in force now (``()`` outside :meth:`intervene` blocks): results cached
        outside the model (attributions, embeddings) key on them."""
        return self._interventions

    def intervene(self, *interventions: Intervention) -> AbstractContextManager[None]:
        """Every model call inside the block (traces, generation, embeddings, attribution scoring) runs
        with ``interventions`` (:mod:`.interventions`: heads ablated or scaled, a residual stream
        patched) on top of any already in force; one request: other threads' calls wait. Traces are
        cached by their interventions too, so nothing leaks into calls after the block."""
        return self._exactly(self._interventions + tuple(interventions))

    @contextmanager
    def _exactly(self, interventions: tuple[Intervention, ...]) -> Iterator[None]:
        """Exactly ``interventions`` in force inside the block (their hooks installed once), the ones
        in force before restored after it."""
        with self._lock:
            if interventions == self._interventions:
                yield
                return
            previous = self._interventions
            self._set_interventions(interventions)
            try:
                yield
            finally:
                self._set_interventions(previous)

    def _set_interventions(self, interventions: tuple[Intervention, ...]) -> None:
        """Install the hooks of ``interventions`` (checked first: a wrong one changes nothing), then
        remove those in force before (the lock is held: no forward runs in between)."""
        stack = None
        if interventions:
            stack = contextlib.ExitStack()
            stack.enter_context(
                installed(
                    interventions, self.arch.layers, self.arch.attention, self.num_heads, self.arch.routers
                )
            )
        if self._intervention_hooks is not None:
            self._intervention_hooks.close()
        self._interventions, self._intervention_hooks = interventions, stack

    def _keep(self, text: str, layers: tuple[int, ...], thumbnails: int | None, trace: Trace) -> None:
        """Cache ``trace`` as the trace of ``text`` (unless it alone is over ``cache_bytes``); a trace
        that was not cut short answers requests with ``truncate`` and without."""
        if trace.nbytes <= self._cache_bytes:
            with self._lock:
                self._cache[(text, layers, trace.truncated, thumbnails, trace.interventions)] = trace
                self._trim_cache()

    def _trim_cache(self) -> None:
        """Drop the oldest cached traces until at most ``cache_size`` holding ``cache_bytes`` are left."""
        while self._cache and (
            len(self._cache) > self._cache_size
            or sum(trace.nbytes for trace in self._cache.values()) > self._cache_bytes
        ):
            self._cache.popitem(last=False)

    def estimate(
        self,
        text_or_n_tokens: str | int,
        layers: Iterable[int] | None = None,
        *,
        thumbnails: int | None = None,
        truncate: bool = False,
    ) -> TraceEstimate:
        """The memory ``trace(text, layers, thumbnails=…, truncate=…)`` needs, without running the model
        (a text is tokenized; a number is taken as its token count, BOS included)."""
        if isinstance(text_or_n_tokens, str):
            n = len(self._tokenize(text_or_n_tokens, truncate)[0])
        else:
            n = min(int(text_or_n_tokens), self.max_tokens) if truncate else int(text_or_n_tokens)
        return self._estimate(n, self._normalise_layers(layers), thumbnails)

    def _estimate(self, n: int, layers: tuple[int, ...], thumbnails: int | None) -> TraceEstimate:
        heads, float32 = self.num_heads, 4
        bins = min(thumbnails, n) if thumbnails is not None else 0
        # per token of an MoE layer: int64 expert ids and float32 weights of the top-k
        experts = self.experts_per_token * (8 + float32)
        watched = bool(layers) or thumbnails is not None
        return TraceEstimate(
            tokens=n,
            layers=len(layers),
            patterns=len(layers) * self._pattern_bytes(n),
            thumbnails=self.num_layers * heads * bins * bins * float32,
            head_scores=self.num_layers * heads * len(attention_capture.HEAD_SCORES) * float32 if bins else 0,
            hidden=(self.num_layers + 1) * n * self.d_model * self.dtype.itemsize,
            routing=len(self.moe_layers) * n * experts,
            # int64 position ids, float32 cos and sin of the rotary dims; DeepSeek-V3.2 alone builds a
            # mask for SDPA (bool [n, n], for its sparse indexer)
            arguments=8 * n + 8 * n * self.arch.rope_width + (n * n if self.family == "deepseek_v32" else 0),
            # + the last position's logits
            working=(self._capture_bytes(n) if watched else 0) + self._unembed_rows * self.dtype.itemsize,
        )

    def _pattern_bytes(self, n: int) -> int:
        """Bytes of one layer's kept pattern ``[head, n, n]`` (float32 for float32 models, else float16)."""
        return self.num_heads * n * n * (4 if self.dtype == torch.float32 else 2)

    def _capture_bytes(self, n: int) -> int:
        """Peak float32 working memory of capturing one layer: its queries and keys, one chunk of scores."""
        heads, rows = self.num_heads, min(attention_capture.QUERY_CHUNK, n)
        return 4 * (heads * (n + rows) * self.arch.query_width + 3 * heads * rows * n)

    def _check_budget(self, estimate: TraceEstimate) -> None:
        """Raise :class:`TraceTooLargeError` when ``estimate`` is over :attr:`memory_budget`."""
        budget = self.memory_budget if self.memory_budget is not None else free_memory(self.device)
        if estimate.total <= budget:
            return
        source = "memory_budget" if self.memory_budget is not None else f"free memory on {self.device}"
        raise TraceTooLargeError(
            f"{estimate}; the budget is {format_bytes(budget)} ({source}). Trace fewer layers "
            "(layers=[…], the patterns grow with n² per layer), a shorter text or fewer thumbnails, "
            "or raise memory_budget."
        )

    def _cached(self, key: tuple[Any, ...]) -> Trace | None:
        """A cached trace that answers ``key``: the same text, the same truncation (or none, where a
        truncated trace is allowed: the text fitted) and the same thumbnails where any are asked for.
        Any layers: a layer the cached trace did not keep is computed from its input when read, for
        less than a new forward. The newest such trace, preferring one that keeps the layers asked."""
        text, layers, truncate, thumbnails, interventions = key
        answering = [
            cached_key
            for cached_key in reversed(self._cache)
            if cached_key[0] == text
            and cached_key[2] in (truncate, False)
            and thumbnails in (None, cached_key[3])
            and cached_key[4] == interventions
        ]
        if not answering:
            return None
        best = min(answering, key=lambda cached: not set(layers) <= set(cached[1]))  # stable: newest first
        self._cache.move_to_end(best)
        return self._cache[best]

    @contextmanager
    def time_limit(self, seconds: float | None = None) -> Iterator[None]:
        """Stop model work in the block after ``seconds`` (default :attr:`max_seconds`; ``None``: no
        limit) with :class:`ComputationTimeoutError`, checked as each decoder layer starts. A block
        inside another keeps the outer deadline, so one request (a trace plus attributions) shares it.
        The block is one request: other threads' model calls wait until it ends."""
        seconds = self.max_seconds if seconds is None else seconds
        with self._lock:  # the deadline belongs to one request: no other thread's calls run under it
            if seconds is None or self._deadline is not None:
                yield
                return
            self._deadline = (time.monotonic() + seconds, seconds)
            handles = [layer.register_forward_pre_hook(self._check_deadline) for layer in self.arch.layers]
            try:
                yield
            finally:
                for handle in handles:
                    handle.remove()
                self._deadline = None

    @contextmanager
    def _call(self, advice: str) -> Iterator[None]:
        """The one way into the model: every forward (and backward) pass runs inside this block.

        One call at a time (a re-entrant lock, so calls may nest), under :meth:`time_limit`, with MLA's
        values padded for CPU SDPA's fast kernel (:func:`.attention_capture.fast_path`). The device
        running out of memory (CUDA's ``OutOfMemoryError`` or a CPU allocation failure) frees the trace
        cache and raises :class:`TraceOutOfMemoryError` saying ``advice``.
        """
        with self._lock, self.time_limit():
            try:
                with attention_capture.fast_path():
                    yield
            except RuntimeError as error:  # torch.OutOfMemoryError is one
                if not _is_out_of_memory(error):
                    raise
                self._cache.clear()
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                raise TraceOutOfMemoryError(advice) from error

    @property
    def _unembed_rows(self) -> int:
        """Logits per position (the output embedding's rows)."""
        return int(getattr(self.arch.unembed, "out_features", self.vocab_size))

    def _guarded(self, module: nn.Module, advice: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """``module`` as a function that runs through :meth:`_call` on ``module``'s own device (for what
        a trace computes later)."""
        device = _execution_device(module)

        def run(inputs: torch.Tensor) -> torch.Tensor:
            with self._call(advice):
                output: torch.Tensor = module(inputs.to(device))
                return output

        return run

    def _check_deadline(self, _module: nn.Module, _inputs: Any) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline[0]:
            raise ComputationTimeoutError(self._deadline[1])

    def tokenize(self, text: str, *, truncate: bool = False) -> list[Token]:
        """The tokens ``trace(text, truncate=truncate)`` shows (BOS first), without running the model."""
        return self._tokenize(text, truncate)[0]

    def _tokenize(self, text: str, truncate: bool, special_tokens: bool = True) -> tuple[list[Token], bool]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if not text:
            raise EmptyTextError("the text is empty: type something to trace.")
        position = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), -1)
        if position >= 0:
            raise InvalidTextError(
                f"the text holds a lone surrogate (U+{ord(text[position]):04X}) at character {position}, which "
                "no tokenizer can encode: replace it (deepseek_viz.model.tokens.well_formed does)."
            )
        encoding = self.tokenizer(
            text,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
            add_special_tokens=special_tokens,
        )
        ids: list[int] = encoding["input_ids"]
        truncated = len(ids) > self.max_tokens
        if truncated and not truncate:
            raise TextTooLongError(len(ids), self.max_tokens)
        n = min(len(ids), self.max_tokens)
        tokens = tokens_from_offsets(
            text,
            ids[:n],
            encoding["offset_mapping"][:n],
            encoding["special_tokens_mask"][:n],
            self.tokenizer.convert_ids_to_tokens(ids[:n]),
        )
        return tokens, truncated

    def _run(self, text: str, layers: tuple[int, ...], truncate: bool, thumbnails: int | None) -> Trace:
        tokens, truncated = self._tokenize(text, truncate)
        return self._run_tokens(text, tokens, layers, thumbnails, truncated=truncated)

    def _run_tokens(
        self,
        text: str,
        tokens: list[Token],
        layers: tuple[int, ...],
        thumbnails: int | None,
        *,
        truncated: bool = False,
    ) -> Trace:
        """Trace ``tokens`` (of ``text``) in one forward pass, capturing what ``layers`` and
        ``thumbnails`` ask for (see :meth:`trace`)."""
        n = len(tokens)
        self._check_budget(self._estimate(n, layers, thumbnails))
        watched = range(self.num_layers) if thumbnails is not None else layers
        recorder = attention_capture.AttentionRecorder(
            {id(self.arch.attention[layer]): layer for layer in watched}, set(layers), thumbnails
        )
        input_ids = torch.tensor([[token.id for token in tokens]], device=self.device)
        advice = (
            f"out of memory tracing {n} tokens with attention for {len(layers)} layers; "
            "trace fewer layers or a shorter text."
        )
        with (
            self._call(advice),
            torch.no_grad(),
            attention_capture.recording(recorder),
            self._routing_hooks() as routing,
            self._layer_arguments() as arguments,
        ):
            # the last position's logits only: the lens and the predictions unembed what they show
            output = self.model(
                input_ids=input_ids, output_hidden_states=True, use_cache=False, logits_to_keep=1
            )
        missing = [layer for layer in layers if layer not in recorder.patterns] + [
            layer for layer in watched if thumbnails is not None and layer not in recorder.thumbnails
        ]
        if missing:
            raise AttentionUnavailableError(
                f"no attention was captured for layers {sorted(set(missing))}: this model's attention does not go through "
                "transformers' attention interface (remote code or a custom attention class?)."
            )
        hidden = [state[0] for state in output.hidden_states]
        for patch in self._interventions:  # the stream a patched layer read is the patched one
            if isinstance(patch, ResidualPatch) and (patch.rows is None or 0 in patch.rows):
                hidden[patch.layer] = hidden[patch.layer].clone()
                hidden[patch.layer][list(patch.positions)] = patch.values.to(hidden[patch.layer])

        active = self._interventions  # a layer run again runs under the trace's own interventions

        def layer_attention(layer: int, heads: tuple[int, ...] | None) -> torch.Tensor:
            with self._exactly(active):
                return self._layer_attention(layer, hidden[layer], arguments[layer], heads)

        def router_logits(layer: int) -> torch.Tensor:
            with self._exactly(active):
                return self._router_logits(layer, hidden[layer], arguments[layer])

        return Trace(
            text=text,
            tokens=tokens,
            patterns=recorder.patterns,
            thumbnails=recorder.thumbnails,
            head_scores=recorder.head_scores,
            hidden=hidden,
            routing=routing,
            num_layers=self.num_layers,
            final_norm=self._guarded(
                self.arch.final_norm, f"out of memory reading the logit lens of {n} tokens"
            ),
            unembed=self._guarded(
                self.arch.unembed, f"out of memory reading the logits of {n} tokens; use a shorter text."
            ),
            vocab_size=self._unembed_rows,
            decode=lambda token_id: self.decode([token_id]),
            truncated=truncated,
            layer_attention=layer_attention,
            router_logits=router_logits,
            interventions=active,
            arguments=[argument for layer in sorted(arguments) for argument in arguments[layer].values()],
        )

    def _layer_attention(
        self, layer: int, hidden: torch.Tensor, arguments: dict[str, Any], heads: tuple[int, ...] | None
    ) -> torch.Tensor:
        """The full pattern ``[head, n, n]`` of ``layer`` (of ``heads`` alone when given), recomputed by
        running that decoder layer alone on its input (the residual stream a trace keeps) with the
        arguments the forward passed it: no other layer runs. Checked against :attr:`memory_budget`
        first, through the gateway."""
        n = hidden.shape[0]
        share = 1.0 if heads is None else len(heads) / self.num_heads
        self._check_budget(
            TraceEstimate(
                tokens=n,
                layers=1,
                patterns=int(self._pattern_bytes(n) * share),
                thumbnails=0,
                head_scores=0,
                hidden=0,
                routing=0,
                working=self._capture_bytes(n),
            )
        )
        recorder = attention_capture.AttentionRecorder(
            {id(self.arch.attention[layer]): layer}, {layer}, heads=heads
        )
        advice = f"out of memory computing the attention of layer {layer} for {n} tokens; use a shorter text."
        with attention_capture.recording(recorder):
            self._run_layer(layer, hidden, arguments, advice)
        self._trim_cache()  # the trace holding this pattern may be cached
        return recorder.patterns[layer]

    def _router_logits(self, layer: int, hidden: torch.Tensor, arguments: dict[str, Any]) -> torch.Tensor:
        """The MoE router's logits ``[n, num_experts]`` of ``layer``, recomputed by running that decoder
        layer alone on its input."""
        captured: list[torch.Tensor] = []
        handle = self.arch.routers[layer].register_forward_hook(
            lambda _module, _inputs, output: captured.append(output[0].detach())
        )
        try:
            self._run_layer(layer, hidden, arguments, f"out of memory reading the router of layer {layer}")
        finally:
            handle.remove()
        return captured[0]

    def _run_layer(self, layer: int, hidden: torch.Tensor, arguments: dict[str, Any], advice: str) -> None:
        """Run decoder layer ``layer`` alone on its input ``hidden`` ``[n, d_model]`` with the arguments
        the forward passed it (through the gateway; accelerate's hooks place it as in the forward)."""
        with self._call(advice), torch.no_grad():
            self.arch.layers[layer](hidden[None], **arguments)

    @contextmanager
    def _layer_arguments(self) -> Iterator[dict[int, dict[str, Any]]]:
        """Each decoder layer's keyword arguments in the forward (position embeddings, mask, position ids;
        the same objects for every layer, so keeping them costs one copy), without its cache."""
        captured: dict[int, dict[str, Any]] = {}

        def hook_for(layer: int) -> Any:
            def hook(_module: nn.Module, _args: Any, kwargs: dict[str, Any]) -> None:
                captured[layer] = {
                    name: value
                    for name, value in kwargs.items()
                    if name
                    not in ("hidden_states", "cache", "past_key_values", "past_key_value", "use_cache")
                }

            return hook

        handles = [
            module.register_forward_pre_hook(hook_for(layer), with_kwargs=True)
            for layer, module in enumerate(self.arch.layers)
        ]
        try:
            yield captured
        finally:
            for handle in handles:
                handle.remove()

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
        """Write a completion of ``prompt`` with transformers' ``generate`` (its KV cache and sampling:
        the tokens are those ``model.generate`` gives for the same settings and seed) and return the
        trace of prompt + completion, with ``trace.completion`` (:class:`~.generation.Completion`: the
        prompt's length, each generated token's probability and entropy, why it stopped).

        Greedy by default; ``temperature > 0`` samples (with ``top_k``, ``top_p``, ``seed``). Decoding
        ends at ``max_new_tokens`` (and at ``max_tokens`` in all), the end-of-sequence token (not before
        ``min_new_tokens``: transformers' own ``min_new_tokens``), a ``stop``
        string the completion ends with, ``stop_event`` being set, or the :meth:`time_limit` (what was
        produced is kept; ``stop_reason`` says which). ``chat=True`` applies the tokenizer's chat
        template to the prompt as the user's turn (DeepSeek's templates open the assistant's turn, R1's
        with ``<think>``). ``on_step`` is called with each :class:`~.generation.GenerationStep` as it is
        made: the token, its probability and entropy, the attention rows of ``layers`` and the routing
        of the positions that step read. ``prefix`` gives the prompt as tokens (``prompt`` is their
        text, e.g. ``trace.text[: trace.tokens[i].end]`` for ``trace.tokens[: i + 1]``), to write on
        from a chosen token of an earlier trace exactly as it was read; ``chat`` is not applied then. The returned trace is one pass over the final tokens
        (``layers`` and ``thumbnails`` as in :meth:`trace`), which the steps' capture equals.
        """
        sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        if any(isinstance(intervention, POSITIONAL) for intervention in self._interventions):
            raise ValueError(
                "a patch replaces states at positions of one run: it applies to traces, not to "
                "generation (ablations, scaling and forcing do apply to generation)"
            )
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, not {max_new_tokens}")
        chosen = self._normalise_layers(layers)
        if prefix is not None:
            prompt_text, tokens = prompt, list(prefix)
            if not tokens:
                raise EmptyTextError("the prefix is empty: give at least one token to write on from.")
            if len(tokens) > self.max_tokens:
                raise TextTooLongError(len(tokens), self.max_tokens)
        else:
            prompt_text = self._chat_prompt(prompt) if chat else prompt
            tokens, _ = self._tokenize(prompt_text, truncate=False, special_tokens=not chat)
        new_tokens = min(max_new_tokens, self.max_tokens - len(tokens))
        if new_tokens < 1:
            raise TextTooLongError(len(tokens) + 1, self.max_tokens)
        self._check_budget(self._estimate(len(tokens) + new_tokens, chosen, thumbnails))
        stop_event = stop_event or threading.Event()
        special = set(getattr(self.tokenizer, "all_special_ids", []))
        completion = CompletionText(prompt_text, self.decode, special)
        recorder = attention_capture.AttentionRecorder(
            {id(self.arch.attention[layer]): layer for layer in chosen}, set(chosen)
        )
        with self._lock:
            with self._routing_hooks() as routing:
                observer = StepObserver(sampling, recorder.patterns, routing)
                streamer = StepStreamer(observer, completion, len(tokens), on_step)
                criteria = StopWhen(stop_event, stop, len(tokens), self.decode, self._expired)
                at_least = min(min_new_tokens, new_tokens)
                self._decode_with_capture(
                    tokens, (at_least, new_tokens), sampling, recorder, observer, streamer, criteria
                )
            ids = completion.ids
            eos: Any = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
            eos_ids = set(eos if isinstance(eos, list) else [eos])
            reason = criteria.reason or ("eos" if ids and ids[-1] in eos_ids else "length")
            text, generated = completion.tokens()
            deadline, self._deadline = self._deadline, None  # the final pass is its own request
            try:
                trace = self._run_tokens(prompt_text + text, tokens + generated, chosen, thumbnails)
            finally:
                self._deadline = deadline
        trace.completion = Completion(
            prompt_length=len(tokens),
            probs=np.asarray(streamer.probs, dtype=np.float32),
            entropies=np.asarray(streamer.entropies, dtype=np.float32),
            stop_reason=reason,
        )
        self._keep(trace.text, chosen, thumbnails, trace)  # views shown this text read its tokens as written
        return trace

    def stream(self, prompt: str, max_new_tokens: int = 64, **options: Any) -> Generation:
        """:meth:`generate` in a thread: iterate the returned :class:`~.generation.Generation` for each
        step as it arrives, ``.stop()`` it, ``.wait()`` for the trace. Takes :meth:`generate`'s options
        (not ``on_step`` or ``stop_event``)."""
        for name in ("on_step", "stop_event"):
            if name in options:
                raise TypeError(f"stream() makes its own {name}")
        return Generation(
            lambda on_step, stop_event: self.generate(
                prompt, max_new_tokens, on_step=on_step, stop_event=stop_event, **options
            )
        )

    def _decode_with_capture(
        self,
        tokens: list[Token],
        new_tokens: tuple[int, int],
        sampling: Sampling,
        recorder: attention_capture.AttentionRecorder,
        observer: StepObserver,
        streamer: StepStreamer,
        criteria: StopWhen,
    ) -> None:
        """transformers' ``generate`` over ``tokens`` with the step capture on, through the gateway;
        ``new_tokens`` is (at least, at most)."""
        input_ids = torch.tensor([[token.id for token in tokens]], device=self.device)
        advice = (
            f"out of memory generating {new_tokens[1]} tokens after a prompt of {len(tokens)}; "
            "ask for fewer new tokens or fewer layers."
        )
        with contextlib.ExitStack() as stack:
            if sampling.seed is not None:
                stack.enter_context(
                    torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])
                )
                torch.manual_seed(sampling.seed)
            stack.enter_context(self._call(advice))
            stack.enter_context(torch.no_grad())
            stack.enter_context(attention_capture.recording(recorder))
            try:
                self.model.generate(  # type: ignore[operator]
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    min_new_tokens=new_tokens[0],
                    max_new_tokens=new_tokens[1],
                    logits_processor=LogitsProcessorList([observer]),
                    stopping_criteria=StoppingCriteriaList([criteria]),
                    streamer=streamer,
                    pad_token_id=self.pad_token_id,
                    **sampling.generate_kwargs(),
                )
            except ComputationTimeoutError:
                criteria.reason = "time limit"  # stopped inside a step: the tokens made before it stay

    def _expired(self) -> bool:
        """Whether the current request's deadline has passed."""
        return self._deadline is not None and time.monotonic() > self._deadline[0]

    def _chat_prompt(self, prompt: str) -> str:
        """``prompt`` as the user's turn of the tokenizer's chat template, the assistant's turn opened."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise UnsupportedModelError(
                "this tokenizer has no chat template: generate with chat=False (the prompt as it is)."
            )
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` alone: no special tokens, no length limit."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids."""
        return str(self.tokenizer.decode(list(ids)))

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        """The vocabulary string of each token id (e.g. ``"Ġrose"``)."""
        return list(self.tokenizer.convert_ids_to_tokens(list(ids)))

    def input_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """The input embeddings of token ids: ``[...] → [..., d_model]`` (no gradient)."""
        with self._call(f"out of memory looking up {ids.numel()} input embeddings"), torch.no_grad():
            embeddings: torch.Tensor = self._embedding(ids.to(self.device))
            return embeddings

    def mean_input_embedding(self) -> torch.Tensor:
        """The mean input embedding over the vocabulary, ``[d_model]``."""
        with self._call("out of memory averaging the input embeddings"), torch.no_grad():
            return self._embedding.weight.mean(dim=0)

    def hidden_states(self, sequences: Sequence[Sequence[int]], layer: int) -> list[torch.Tensor]:
        """The hidden state ``layer`` (``0`` embeddings … ``num_layers`` last, after the final norm) of
        each id sequence, float32 ``[len(sequence), d_model]``, run as one batch.

        Padding is on the tokenizer's side, with position ids taken from the attention mask, so a
        sequence's states do not depend on the batch it ran in (to float rounding, ~1e-6). The forward
        stops at that hidden state: no later layer and no unembedding runs.
        """
        if not sequences:
            return []
        longest = max(len(sequence) for sequence in sequences)
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        pad_id = self.pad_token_id
        ids = torch.full((len(sequences), longest), 0 if pad_id is None else pad_id, dtype=torch.long)
        attention = torch.zeros((len(sequences), longest), dtype=torch.long)
        spans = []
        for row, sequence in enumerate(sequences):
            span = slice(longest - len(sequence), longest) if left else slice(0, len(sequence))
            ids[row, span] = torch.tensor(list(sequence), dtype=torch.long)
            attention[row, span] = 1
            spans.append(span)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        advice = (
            f"out of memory running a batch of {len(sequences)} texts of up to {longest} tokens; "
            "pass a smaller batch_size."
        )
        if not 0 <= layer <= self.num_layers:
            raise LayerOutOfRangeError(f"hidden state {layer} is out of range: they run 0–{self.num_layers}")
        # the module whose output is hidden state `layer`; the forward stops there (no later layer, no
        # unembedding runs)
        if layer == 0:
            last: nn.Module = self._embedding
        else:
            last = self.arch.layers[layer - 1] if layer < self.num_layers else self.arch.final_norm

        def stop(_module: nn.Module, _inputs: Any, output: Any) -> None:
            raise _Reached(output[0] if isinstance(output, tuple) else output)

        handle = last.register_forward_hook(stop)
        try:
            with self._call(advice), torch.no_grad():
                self.model(
                    input_ids=ids.to(self.device),
                    attention_mask=attention.to(self.device),
                    position_ids=positions.to(self.device),
                    use_cache=False,
                    logits_to_keep=1,
                )
            raise UnsupportedModelError(f"the forward never ran the module of hidden state {layer}")
        except _Reached as reached:
            hidden = reached.output.float()  # [batch, position, d_model]
        finally:
            handle.remove()
        return [hidden[row, span] for row, span in enumerate(spans)]

    def head_outputs(self, text: str, layer: int) -> torch.Tensor:
        """What each head of ``layer`` outputs at each token of ``text`` (BOS first, as :meth:`trace`
        tokenizes it): its slice of the input of the attention's output projection, float32
        ``[n, heads, head width]`` (:class:`~.interventions.HeadPatch` writes such slices). The forward
        stops there; interventions in force apply."""
        projection = self._attention_part(layer, "o_proj")

        def read(_args: tuple[Any, ...], inputs: torch.Tensor, _output: Any) -> torch.Tensor:
            return inputs[0].reshape(inputs.shape[1], self.num_heads, -1)

        return self._read_at(text, projection, read)

    def expert_outputs(self, text: str, layer: int, expert: int | None = None) -> torch.Tensor:
        """What the routed experts of MoE ``layer`` add at each token of ``text`` (before the shared
        experts), float32 ``[n, d_model]``; with ``expert``, that expert's weighted contribution alone
        (zero at tokens not routed to it), as :class:`~.interventions.ExpertPatch` replaces it. The
        forward stops there; interventions in force apply."""
        if layer not in self.arch.routers:
            raise LayerOutOfRangeError(
                f"layer {layer} has no routed experts (MoE layers: {list(self.moe_layers)})"
            )
        if expert is not None and not 0 <= expert < self.num_experts:
            raise LayerOutOfRangeError(f"expert {expert}: give a routed expert 0–{self.num_experts - 1}")
        experts: nn.Module = self.arch.layers[layer].mlp.experts  # type: ignore[union-attr,assignment]

        def read(args: tuple[Any, ...], _inputs: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
            if expert is None:
                return output
            hidden, indices, weights = args[:3]
            return expert_contribution(experts, hidden, indices, weights, expert)

        return self._read_at(text, experts, read)

    def expert_weight_summary(self, layer: int) -> torch.Tensor:
        """The router's weight rows of MoE ``layer`` (``mlp.gate.weight``), float32 ``[num_experts,
        d_model]`` on the CPU: row ``e`` is the residual-stream direction whose dot product with a
        token's hidden state is expert ``e``'s router logit. A copy; no forward runs."""
        router = self.arch.routers.get(layer)
        if router is None:
            raise LayerOutOfRangeError(
                f"layer {layer} has no routed experts (MoE layers: {list(self.moe_layers)})"
            )
        weight = getattr(router, "weight", None)
        if not isinstance(weight, torch.Tensor) or weight.ndim != 2 or weight.shape[0] != self.num_experts:
            raise UnsupportedModelError(f"layer {layer}'s router has no [num_experts, d_model] weight")
        return weight.detach().to(device="cpu", dtype=torch.float32).clone()

    def _attention_part(self, layer: int, name: str) -> nn.Module:
        if not 0 <= layer < self.num_layers:
            raise LayerOutOfRangeError(
                f"layer {layer} is out of range: the model has 0–{self.num_layers - 1}"
            )
        part = getattr(self.arch.attention[layer], name, None)
        if not isinstance(part, nn.Module):
            raise UnsupportedModelError(f"layer {layer}'s attention has no {name}")
        return part

    def _read_at(
        self, text: str, module: nn.Module, read: Callable[[tuple[Any, ...], torch.Tensor, Any], torch.Tensor]
    ) -> torch.Tensor:
        """``read(args, first input, output)`` of ``module`` when the forward of ``text`` runs it (the
        forward stops there, through the gateway), as float32 on the CPU."""
        tokens, _ = self._tokenize(text, truncate=False)

        def stop(_module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            raise _Reached(read(args, args[0], output))

        handle = module.register_forward_hook(stop)
        try:
            with self._call(f"out of memory running {len(tokens)} tokens"), torch.no_grad():
                self.model(
                    input_ids=torch.tensor([[t.id for t in tokens]], device=self.device), use_cache=False
                )
            raise UnsupportedModelError(f"the forward never ran {type(module).__name__}")
        except _Reached as reached:
            return reached.output.float().cpu()
        finally:
            handle.remove()

    def logits(self, embeddings: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
        """Logits read at ``positions`` of a batch of input-embedding sequences:
        ``embeddings [batch, n, d_model] → [batch, len(positions), vocab]`` (float32).

        Only those positions are unembedded (``logits_to_keep``). Differentiable in ``embeddings`` when
        autograd is on (the backward pass runs through the gateway too).
        """
        keep = torch.tensor(list(positions), dtype=torch.long, device=self.device)
        advice = (
            f"out of memory scoring a batch of {embeddings.shape[0]} inputs of {embeddings.shape[1]} tokens; "
            "pass a smaller batch_size."
        )

        def run(inputs: torch.Tensor) -> torch.Tensor:
            output = self.model(inputs_embeds=inputs, use_cache=False, logits_to_keep=keep)
            logits: torch.Tensor = output.logits.float()
            return logits

        inputs = embeddings.to(self.device, self.dtype)
        if torch.is_grad_enabled() and inputs.requires_grad:
            result: torch.Tensor = _GuardedGradient.apply(self, run, advice, inputs)
            return result
        with self._call(advice):
            return run(inputs)

    @contextmanager
    def _routing_hooks(self) -> Iterator[dict[int, Routing]]:
        """``blocks.{L}.mlp.hook_routing  # experts [n, k], weights [n, k]`` from each router's own output
        (its logits are not kept: :meth:`Trace.router_scores` recomputes one layer's)."""
        captured: dict[int, Routing] = {}

        def hook_for(layer: int) -> Any:
            def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
                if not (isinstance(output, tuple) and len(output) == 3):
                    raise UnsupportedModelError(
                        f"layer {layer}: the MoE router returned {type(output).__name__}, not "
                        "(router_logits, topk_weights, topk_indices)"
                    )
                weights, experts = output[1].detach().float(), output[2]
                order = torch.argsort(weights, dim=-1, descending=True)
                captured[layer] = Routing(
                    experts=experts.gather(-1, order).long().cpu().numpy(),
                    weights=weights.gather(-1, order).cpu().numpy(),
                    group_size=self.arch.routing_group_size,
                )

            return hook

        handles = [
            router.register_forward_hook(hook_for(layer)) for layer, router in self.arch.routers.items()
        ]
        try:
            yield captured
        finally:
            for handle in handles:
                handle.remove()
