"""What an attribution explains: one scalar that a causal LM computes from a text.

A :class:`Target` describes the scalar (``NextToken()``, ``Continuation(" rose")``,
``Verbalizer("{text}\\nSentiment:", (" positive", " negative"))``); ``target.bind(model, tokens)``
places the traced tokens inside the sequence(s) the model reads and returns a :class:`BoundTarget`,
whose one method :meth:`BoundTarget.score` maps a batch of token-embedding variants to the scalar.

Token alignment: the traced tokens (BOS first, exactly as :meth:`ModelInterface.trace` shows them) are
spliced into the model's input **as ids** — a template's prefix and suffix, a continuation and the
labels are tokenised on their own (without special tokens) and concatenated. So the features never
shift, but BPE may merge differently across a boundary than it would on the joined string.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import torch

from ...model import ModelInterface, Token
from ...model.tokens import readable_texts

ReadKind = Literal["logprob", "logit"]


@dataclass(frozen=True)
class Readout:
    """``Σ_j value(logits[positions[j]])[token_ids[j]]`` on one of a bound target's sequences.

    ``kind="logprob"`` reads log-softmax values (a continuation's log-probability), ``"logit"`` raw logits.
    """

    sequence: int
    positions: tuple[int, ...]
    token_ids: tuple[int, ...]
    kind: ReadKind = "logprob"


def _identity(values: torch.Tensor) -> torch.Tensor:
    return values[:, 0]


@dataclass
class BoundTarget:
    """A target placed on one text: the sequences the model reads and how the scalar is read off.

    ``sequences[s]`` are full input ids; the traced tokens sit at ``positions`` in every one of them
    (the template / continuation / label ids around them are fixed). :meth:`score` swaps the traced
    tokens' embeddings for the given ones, runs the model once per sequence, evaluates the readouts
    and combines them with ``combine`` (``[batch, readouts] → [batch]``).
    """

    model: ModelInterface
    sequences: list[list[int]]
    positions: list[int]
    readouts: list[Readout]
    description: str
    combine: Callable[[torch.Tensor], torch.Tensor] = _identity
    chosen_token: int | None = None  # the next token / label id the target settled on, if any
    chosen_label: str | None = None  # a verbalizer's label it settled on
    _fixed: list[torch.Tensor] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._fixed = [self.model.input_embeddings(torch.tensor(sequence)) for sequence in self.sequences]

    @property
    def num_tokens(self) -> int:
        """How many traced tokens the target reads (the length of every score vector)."""
        return len(self.positions)

    def token_embeddings(self) -> torch.Tensor:
        """The traced tokens' own input embeddings, ``[n, d_model]``."""
        return self._fixed[0][self.positions]

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The target scalar for each variant: ``embeddings [batch, n, d_model] → [batch]`` (float32).

        Differentiable in ``embeddings`` (call it under ``torch.no_grad()`` when no gradient is needed).
        Logits are computed only at the positions the readouts need (``logits_to_keep``).
        """
        batch = embeddings.shape[0]
        index = torch.tensor(self.positions, device=embeddings.device)
        values: list[torch.Tensor | None] = [None] * len(self.readouts)
        for number, fixed in enumerate(self._fixed):
            reads = [(i, r) for i, r in enumerate(self.readouts) if r.sequence == number]
            if not reads:
                continue
            inputs = fixed.unsqueeze(0).expand(batch, -1, -1).clone()
            inputs[:, index] = embeddings.to(fixed.dtype)
            keep = sorted({p for _, r in reads for p in r.positions})
            where = {p: j for j, p in enumerate(keep)}
            logits = self.model.logits(inputs, keep)  # [batch, len(keep), vocab]
            logprobs = (
                torch.log_softmax(logits, dim=-1) if any(r.kind == "logprob" for _, r in reads) else logits
            )
            for i, read in reads:
                source = logprobs if read.kind == "logprob" else logits
                columns = torch.tensor([where[p] for p in read.positions], device=logits.device)
                ids = torch.tensor(read.token_ids, device=logits.device)
                values[i] = source[:, columns, ids].sum(dim=-1)
        stacked = torch.stack([v for v in values if v is not None], dim=-1)
        return self.combine(stacked)

    def score_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """The target scalar for token-id variants ``[batch, n]`` of the traced tokens (no gradient)."""
        with torch.no_grad():
            return self.score(self.model.input_embeddings(ids))


class Target(ABC):
    """A scalar to explain. Subclasses are frozen dataclasses, so they compare and hash by value
    (results are cached by target)."""

    @abstractmethod
    def bind(self, model: ModelInterface, tokens: Sequence[Token]) -> BoundTarget:
        """Place the traced ``tokens`` (BOS first) in the model's input and fix what is read."""

    def pinned(self, model: ModelInterface, tokens: Sequence[Token]) -> Target:
        """This target with what it would choose on ``model`` now (the top next token, the top label)
        fixed, so that it reads the same scalar under interventions or on another model."""
        return self


def _encode(model: ModelInterface, text: str, what: str) -> list[int]:
    ids = model.encode(text)
    if not ids:
        raise ValueError(f"{what} {text!r} encodes to no tokens")
    return ids


def _show(model: ModelInterface, token_id: int) -> str:
    """The token as a caption names it: quoted, a piece of a character as its bytes ('<0xE4>')."""
    return repr(readable_texts([model.decode([token_id])], [token_id], model.token_strings)[0])


@dataclass(frozen=True)
class NextToken(Target):
    """The next token after the text: by default the model's own top prediction on the unperturbed
    text (fixed once, then explained on every variant), or a given ``token`` (id or single-token string).

    ``score="logprob"`` (default) explains ``log p(token | text)``; ``"logit"`` its raw logit.
    """

    token: int | str | None = None
    score: ReadKind = "logprob"

    def bind(self, model: ModelInterface, tokens: Sequence[Token]) -> BoundTarget:
        ids = [t.id for t in tokens]
        last = len(ids) - 1
        if self.token is None:
            with torch.no_grad():
                logits = model.logits(model.input_embeddings(torch.tensor([ids])), [last])
            token_id = int(logits[0, -1].argmax())
            origin = "the model's top next token"
        elif isinstance(self.token, str):
            encoded = _encode(model, self.token, "token")
            if len(encoded) != 1:
                raise ValueError(
                    f"NextToken({self.token!r}) is {len(encoded)} tokens long; use Continuation({self.token!r})"
                )
            token_id, origin = encoded[0], "next token"
        else:
            token_id, origin = int(self.token), "next token"
        label = "log p" if self.score == "logprob" else "logit"
        return BoundTarget(
            model=model,
            sequences=[ids],
            positions=list(range(len(ids))),
            readouts=[Readout(0, (last,), (token_id,), self.score)],
            description=f"{label}({_show(model, token_id)} | text) — {origin}",
            chosen_token=token_id,
        )

    def pinned(self, model: ModelInterface, tokens: Sequence[Token]) -> Target:
        if self.token is not None:
            return self
        return replace(self, token=self.bind(model, tokens).chosen_token)


@dataclass(frozen=True)
class Continuation(Target):
    """A given continuation of the text: the sum of its tokens' log-probabilities given the text."""

    text: str

    def bind(self, model: ModelInterface, tokens: Sequence[Token]) -> BoundTarget:
        ids = [t.id for t in tokens]
        continuation = _encode(model, self.text, "continuation")
        start = len(ids) - 1
        return BoundTarget(
            model=model,
            sequences=[ids + continuation[:-1]],
            positions=list(range(len(ids))),
            readouts=[
                Readout(0, tuple(range(start, start + len(continuation))), tuple(continuation), "logprob")
            ],
            description=f"log p({self.text!r} | text), summed over its {len(continuation)} tokens",
        )


VerbalizerScore = Literal["log_odds", "logprob"]


@dataclass(frozen=True)
class Verbalizer(Target):
    """Explain a causal LM like a classifier: fill ``template`` (one ``{text}`` slot) and read the labels.

    Each label's log-probability is the sum over its tokens after the filled template. ``label`` is the
    one explained (default: the most probable label on the unperturbed text).
    ``score="log_odds"`` (default) explains ``log p(label) − log Σ_{other labels} p(other)`` — for two
    labels the log-odds of one against the other; it ignores probability mass outside the label set,
    so it behaves like a classifier's logit. ``score="logprob"`` explains ``log p(label)`` alone.

    Only the text's tokens are features; the template's tokens stay fixed. Leading special tokens
    (BOS) stay in front of the template's prefix.
    """

    template: str
    labels: tuple[str, ...]
    label: str | None = None
    score: VerbalizerScore = "log_odds"

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.template.count("{text}") != 1:
            raise ValueError(f"the template must contain '{{text}}' exactly once: {self.template!r}")
        if len(self.labels) < 2 and self.score == "log_odds":
            raise ValueError("log-odds need at least two labels")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be distinct: {self.labels!r}")
        if self.label is not None and self.label not in self.labels:
            raise ValueError(f"label {self.label!r} is not one of {self.labels!r}")
        if self.score not in ("log_odds", "logprob"):
            raise ValueError(f"score must be 'log_odds' or 'logprob', not {self.score!r}")

    def bind(self, model: ModelInterface, tokens: Sequence[Token]) -> BoundTarget:
        prefix_text, suffix_text = self.template.split("{text}")
        prefix = model.encode(prefix_text) if prefix_text else []
        suffix = model.encode(suffix_text) if suffix_text else []
        lead = 0
        while lead < len(tokens) and tokens[lead].special:
            lead += 1
        ids = [t.id for t in tokens]
        context = ids[:lead] + prefix + ids[lead:] + suffix
        positions = list(range(lead)) + [lead + len(prefix) + i for i in range(len(ids) - lead)]
        sequences: list[list[int]] = []
        readouts: list[Readout] = []
        label_ids = [_encode(model, label, "label") for label in self.labels]
        for encoded in label_ids:
            sequence = context + encoded[:-1]
            if sequence not in sequences:
                sequences.append(sequence)
            start = len(context) - 1
            readouts.append(
                Readout(sequences.index(sequence), tuple(range(start, start + len(encoded))), tuple(encoded))
            )
        bound = BoundTarget(
            model=model, sequences=sequences, positions=positions, readouts=readouts, description=""
        )
        chosen = int(_readout_values(bound).argmax()) if self.label is None else self.labels.index(self.label)
        others = [label for i, label in enumerate(self.labels) if i != chosen]
        if self.score == "log_odds":
            bound.combine = _log_odds(chosen)
            what = f"log-odds of {self.labels[chosen]!r} vs {', '.join(map(repr, others))}"
        else:
            bound.combine = _pick(chosen)
            what = f"log p({self.labels[chosen]!r})"
        origin = "the model's top label" if self.label is None else "given label"
        bound.description = f"{what} after {self.template!r} — {origin}"
        bound.chosen_token, bound.chosen_label = label_ids[chosen][0], self.labels[chosen]
        return bound

    def pinned(self, model: ModelInterface, tokens: Sequence[Token]) -> Target:
        if self.label is not None:
            return self
        return replace(self, label=self.bind(model, tokens).chosen_label)


def _readout_values(bound: BoundTarget) -> torch.Tensor:
    """Every readout's value on the unperturbed text, ``[readouts]`` (before ``combine``)."""
    combine = bound.combine
    bound.combine = lambda values: values[0]
    try:
        with torch.no_grad():
            return bound.score(bound.token_embeddings().unsqueeze(0))
    finally:
        bound.combine = combine


def _log_odds(chosen: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def combine(values: torch.Tensor) -> torch.Tensor:
        others = torch.cat([values[:, :chosen], values[:, chosen + 1 :]], dim=-1)
        return values[:, chosen] - torch.logsumexp(others, dim=-1)

    return combine


def _pick(chosen: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def combine(values: torch.Tensor) -> torch.Tensor:
        return values[:, chosen]

    return combine


@dataclass(frozen=True)
class Candidate:
    """One of the model's likely next tokens after a text: its ``token`` id, ``text`` and ``prob``."""

    token: int
    text: str
    prob: float


def next_token_candidates(model: ModelInterface, tokens: Sequence[Token], k: int = 5) -> list[Candidate]:
    """The model's ``k`` most probable next tokens after the traced ``tokens`` (most probable first):
    the choices of a :class:`NextToken` target (``NextToken(token=candidate.token)``)."""
    if k < 1 or not tokens:
        return []
    ids = [t.id for t in tokens]
    with torch.no_grad():
        logits = model.logits(model.input_embeddings(torch.tensor([ids])), [len(ids) - 1])
        probs = torch.softmax(logits[0, -1].float(), dim=-1)
        top = torch.topk(probs, min(k, probs.shape[-1]))
    chosen = [int(i) for i in top.indices]
    texts = readable_texts([model.decode([token]) for token in chosen], chosen, model.token_strings)
    return [
        Candidate(token, text, float(p)) for token, text, p in zip(chosen, texts, top.values, strict=True)
    ]
