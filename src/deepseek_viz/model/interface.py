"""The one interface all model work goes through: what analysis/ and widgets/ may ask of a model.

:class:`~deepseek_viz.model.HookedModel` implements it in the kernel; a client of a model service can
implement it too and stand in unchanged. Only tensors, numbers, strings and :class:`Trace` /
:class:`Token` objects cross it (no ``torch.nn`` modules, no tokenizer), so nothing outside ``model/``
depends on how the model is held.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import torch

from .generation import GenerationStep
from .interventions import Intervention
from .memory import TraceEstimate
from .structure import ModelStructure
from .tokens import Token
from .trace import Trace


@runtime_checkable
class ModelInterface(Protocol):
    """A causal LM that traces texts and answers the low-level calls attributions and embeddings need.

    Every call that runs the model is one model call at a time, bounded by :meth:`time_limit`, and
    turns the device running out of memory into :class:`~deepseek_viz.TraceOutOfMemoryError`.
    """

    #: Most seconds the model work of one request may take (``None``: unbounded); see :meth:`time_limit`.
    max_seconds: float | None

    @property
    def name(self) -> str:
        """The checkpoint's name (or path)."""
        ...

    @property
    def family(self) -> str:
        """The transformers ``model_type`` (e.g. ``deepseek_v3``)."""
        ...

    @property
    def num_layers(self) -> int:
        """Number of decoder layers."""
        ...

    @property
    def num_heads(self) -> int:
        """Attention heads per layer."""
        ...

    @property
    def d_model(self) -> int:
        """Width of the residual stream (and of the input embeddings)."""
        ...

    @property
    def vocab_size(self) -> int:
        """Rows of the input embedding (token ids run ``0 … vocab_size - 1``)."""
        ...

    @property
    def moe_layers(self) -> tuple[int, ...]:
        """Indices of the layers whose MLP is a routed mixture of experts."""
        ...

    @property
    def num_experts(self) -> int:
        """Routed experts per MoE layer (0 for a dense model)."""
        ...

    @property
    def num_shared_experts(self) -> int:
        """Shared experts every token of an MoE layer uses."""
        ...

    @property
    def experts_per_token(self) -> int:
        """Routed experts each token is sent to (the router's top-k)."""
        ...

    @property
    def routing_group_size(self) -> int:
        """Experts per group under group-limited routing, 0 when routing is ungrouped."""
        ...

    @property
    def max_tokens(self) -> int:
        """Most tokens of one trace (BOS included)."""
        ...

    @property
    def pad_token_id(self) -> int | None:
        """The pad token (the EOS token where there is none), or ``None`` when the tokenizer has neither."""
        ...

    @property
    def device(self) -> torch.device:
        """Where the model computes; tensors given to it are moved there."""
        ...

    @property
    def dtype(self) -> torch.dtype:
        """The model's floating-point type."""
        ...

    def structure(self) -> ModelStructure:
        """The model's parts (embedding, each layer's attention and MLP, final norm, LM head) with their
        parameters, dtypes and devices, counted from the modules; JSON-able through ``to_dict()``."""
        ...

    def trace(
        self,
        text: str,
        layers: Iterable[int] | None = None,
        *,
        truncate: bool = False,
        thumbnails: int | None = None,
        interventions: Sequence[Intervention] = (),
    ) -> Trace:
        """Run ``text`` through the model once and capture what the views need (cached; under
        ``interventions`` too)."""
        ...

    @property
    def interventions(self) -> tuple[Intervention, ...]:
        """The interventions in force now (``()`` outside :meth:`intervene` blocks)."""
        ...

    def intervene(self, *interventions: Intervention) -> AbstractContextManager[None]:
        """Every model call inside the block runs with ``interventions`` (heads ablated, scaled or
        patched, a residual stream patched, experts ablated, forced or patched), on top of those already in force; nothing leaks past the block."""
        ...

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
        """Write a completion of ``prompt`` (greedy by default; ``temperature > 0`` samples with
        ``top_k``, ``top_p``, ``seed``) and return the trace of prompt + completion, one pass over the
        final tokens, with ``trace.completion`` (the prompt's length, each generated token's probability
        and entropy, ``stop_reason``). ``chat=True`` applies the tokenizer's chat template (an
        :class:`~deepseek_viz.UnsupportedModelError` where it has none). ``on_step`` is called, in the
        generating thread, with each :class:`~deepseek_viz.model.generation.GenerationStep` as it is
        made; decoding ends at ``max_new_tokens``, the end-of-sequence token, a ``stop`` string,
        ``stop_event`` being set (``"stopped"``) or the :meth:`time_limit` (``"time limit"``), keeping
        what was produced (not before ``min_new_tokens``). ``prefix``: the prompt as these tokens, whose
        text ``prompt`` is (a trace's tokens up to a chosen one, to write on from there)."""
        ...

    def estimate(
        self,
        text_or_n_tokens: str | int,
        layers: Iterable[int] | None = None,
        *,
        thumbnails: int | None = None,
        truncate: bool = False,
    ) -> TraceEstimate:
        """The memory the same ``trace`` would need, known without running the model; a trace over the
        model's memory budget raises :class:`~deepseek_viz.TraceTooLargeError` before it starts."""
        ...

    def tokenize(self, text: str, *, truncate: bool = False) -> list[Token]:
        """The tokens ``trace(text, truncate=truncate)`` shows (BOS first), without running the model."""
        ...

    def time_limit(self, seconds: float | None = None) -> AbstractContextManager[None]:
        """Stop model work in the block after ``seconds`` (default :attr:`max_seconds`) with
        :class:`~deepseek_viz.ComputationTimeoutError`; a block inside another keeps the outer deadline."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` alone: no special tokens, no length limit."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids."""
        ...

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        """The vocabulary string of each token id (e.g. ``"Ġrose"``)."""
        ...

    def input_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """The input embeddings of token ids: ``[...] → [..., d_model]`` (no gradient)."""
        ...

    def mean_input_embedding(self) -> torch.Tensor:
        """The mean input embedding over the vocabulary, ``[d_model]``."""
        ...

    def hidden_states(self, sequences: Sequence[Sequence[int]], layer: int) -> list[torch.Tensor]:
        """The hidden state ``layer`` (``0`` embeddings … ``num_layers`` last, after the final norm) of
        each id sequence, run as one padded batch: float32 ``[len(sequence), d_model]`` per sequence,
        the same (to float rounding) as each sequence run alone."""
        ...

    def head_outputs(self, text: str, layer: int) -> torch.Tensor:
        """Each head's output at each token of ``text`` (its slice of ``o_proj``'s input), float32
        ``[n, heads, head width]``, under the interventions in force (for a head patch)."""
        ...

    def expert_weight_summary(self, layer: int) -> torch.Tensor:
        """A small summary of each routed expert's weights in MoE ``layer``: the router's weight rows,
        float32 ``[num_experts, d_model]``. Row ``e`` is the direction in the residual stream whose dot
        product with a token's hidden state is expert ``e``'s router logit (what selects ``e``)."""
        ...

    def expert_outputs(self, text: str, layer: int, expert: int | None = None) -> torch.Tensor:
        """What MoE ``layer``'s routed experts (or ``expert`` alone) add at each token of ``text``,
        float32 ``[n, d_model]``, under the interventions in force (for an expert patch)."""
        ...

    def logits(self, embeddings: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
        """Logits read at ``positions`` of a batch of input-embedding sequences:
        ``embeddings [batch, n, d_model] → [batch, len(positions), vocab]`` (float32).

        Differentiable in ``embeddings`` when autograd is on; call it under ``torch.no_grad()`` otherwise.
        """
        ...
