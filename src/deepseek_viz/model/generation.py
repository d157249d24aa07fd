"""Generation with capture: the parts :meth:`HookedModel.generate` assembles around transformers' own
``generate`` (its sampling, its KV cache), so that tokens come out exactly as ``model.generate`` gives
them and each step's capture streams out as it is made.

Each decoding step is one forward pass over the new input position(s). Its capture (the attention rows
of the layers asked for, the routing of the input positions) is read when the step's logits reach the
logits processors (:class:`StepObserver`, which also works out the probability and entropy of the
distribution the token is drawn from, with transformers' own warpers), and handed out with the token the
step chose when transformers streams it (:class:`StepStreamer`). :class:`StopWhen` ends decoding on a
stop request, a stop string or the deadline; :class:`Generation` runs one generation in a thread and
yields its steps as they arrive.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import (
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.generation.streamers import BaseStreamer

from .tokens import Token
from .trace import Routing, Trace

#: A chat template of the shape of DeepSeek-R1's (and its distills'): BOS, an optional system text, the
#: turns marked ``<｜User｜>`` / ``<｜Assistant｜>``, and the assistant's turn opened with ``<think>`` for
#: its reasoning. The bundled model's tokenizer has it, so tutorials and tests can use ``chat=True``.
R1_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}<｜User｜>{{ message['content'] }}"
    "{% elif message['role'] == 'assistant' %}<｜Assistant｜>{{ message['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)

#: Why a generation ended, as ``Completion.stop_reason`` says it.
STOP_REASONS = ("length", "eos", "stop string", "stopped", "time limit")


@dataclass(frozen=True)
class Sampling:
    """How each next token is chosen: greedy (``temperature == 0``, the default) or sampled from the
    distribution after temperature, top-k (``0``: off) and top-p (``1.0``: off), with ``seed`` (``None``:
    the global torch generator as it is) — transformers' own ``generate`` settings and warpers."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be 0 (greedy) or more, not {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be 0 (off) or more, not {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p}")

    @property
    def greedy(self) -> bool:
        """Whether the most probable token is always taken."""
        return self.temperature == 0

    def generate_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of transformers' ``generate`` that choose tokens this way."""
        if self.greedy:
            return {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}
        return {"do_sample": True, "temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p}

    def warpers(self) -> LogitsProcessorList:
        """transformers' warpers as ``generate`` applies them after every other processor."""
        warpers = LogitsProcessorList()
        if self.greedy:
            return warpers
        if self.temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(self.temperature))
        if self.top_k:
            warpers.append(TopKLogitsWarper(top_k=self.top_k))
        if self.top_p < 1.0:
            warpers.append(TopPLogitsWarper(top_p=self.top_p))
        return warpers


@dataclass(frozen=True)
class GenerationStep:
    """One generated token as it arrives, with the capture of the forward pass that chose it.

    ``position`` is the new token's index in the final trace; ``text`` the whole text so far (prompt and
    completion). That forward read the input positions ``position - queries … position - 1`` (the whole
    prompt at the first step, then one token): ``attention[layer]`` is their rows ``[head, queries,
    position]`` for each layer asked for, ``routing[layer]`` their routing on MoE layers.
    """

    position: int
    token: Token
    text: str
    prob: float
    entropy: float
    attention: dict[int, torch.Tensor] = field(default_factory=dict)
    routing: dict[int, Routing] = field(default_factory=dict)


@dataclass
class _Pending:
    probs: torch.Tensor  # [vocab], the distribution the step's token is drawn from
    entropy: float
    attention: dict[int, torch.Tensor]
    routing: dict[int, Routing]


class StepObserver(LogitsProcessor):
    """Placed among ``generate``'s logits processors: for each step, the distribution its token will be
    drawn from (``sampling``'s warpers applied to a copy; the scores go on unchanged) and the step's
    capture, taken from ``patterns`` and ``routing`` (the recorder's, emptied for the next step)."""

    def __init__(
        self, sampling: Sampling, patterns: dict[int, torch.Tensor], routing: dict[int, Routing]
    ) -> None:
        self._warpers = sampling.warpers()
        self._patterns, self._routing = patterns, routing
        self.pending: deque[_Pending] = deque()

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        warped = self._warpers(input_ids, scores.clone()) if self._warpers else scores
        log_probs = torch.log_softmax(warped[0].float(), dim=-1)
        probs = log_probs.exp()
        entropy = float(-(probs * log_probs.nan_to_num(neginf=0.0)).sum())
        self.pending.append(_Pending(probs, entropy, dict(self._patterns), dict(self._routing)))
        self._patterns.clear()
        self._routing.clear()
        return scores


class CompletionText:
    """The completion's text and its tokens' spans as tokens arrive. While generating, :attr:`text` is
    the completion decoded so far less a character still incomplete (byte-level pieces of CJK or
    emoji), and a token ending inside one has an empty span; :meth:`tokens` gives the final spans, where
    pieces of one character share its span, as the prompt's tokens do."""

    def __init__(self, prompt: str, decode: Callable[[Sequence[int]], str], special: set[int]) -> None:
        self.prompt = prompt
        self._decode, self._special = decode, special
        self.ids: list[int] = []
        self.text = ""
        self._end = 0  # end of the last token's span in the completion

    def add(self, token_id: int) -> Token:
        """Append one generated token; the token as it reads now."""
        self.ids.append(token_id)
        self.text = self._decode(self.ids).rstrip("\ufffd")
        start, self._end = self._end, max(self._end, len(self.text))
        return self._token(token_id, start, self._end, self.text)

    def _token(self, token_id: int, start: int, end: int, text: str) -> Token:
        offset = len(self.prompt)
        if token_id in self._special:
            return Token(token_id, self._decode([token_id]), offset + start, offset + end, special=True)
        return Token(token_id, text[start:end], offset + start, offset + end)

    def tokens(self) -> tuple[str, list[Token]]:
        """The whole completion decoded (an incomplete last character as U+FFFD) and its tokens."""
        text = self._decode(self.ids)
        spans: list[tuple[int, int]] = []
        end = 0
        for count in range(1, len(self.ids) + 1):
            prefix = self._decode(self.ids[:count])
            start, end = end, max(end, _common_prefix_length(prefix, text))
            spans.append((start, end))
        for index in range(len(spans) - 2, -1, -1):  # pieces of a character take the span it ends in
            start, end = spans[index]
            if start == end and spans[index + 1][0] == start:
                spans[index] = spans[index + 1]
        return text, [self._token(i, a, b, text) for i, (a, b) in zip(self.ids, spans, strict=True)]


def _common_prefix_length(first: str, second: str) -> int:
    """How many leading characters ``first`` and ``second`` share."""
    length = min(len(first), len(second))
    return next((i for i in range(length) if first[i] != second[i]), length)


class StepStreamer(BaseStreamer):
    """transformers' streamer hook: pairs each token ``generate`` chose with its step's
    :class:`_Pending` capture (in order: ``generate`` may stream a token one step late) and calls
    ``on_step`` with a :class:`GenerationStep`."""

    def __init__(
        self,
        observer: StepObserver,
        completion: CompletionText,
        prompt_length: int,
        on_step: Callable[[GenerationStep], None] | None,
    ) -> None:
        self._observer, self._completion = observer, completion
        self._prompt_length, self._on_step = prompt_length, on_step
        self._prompt_seen = False
        self.probs: list[float] = []
        self.entropies: list[float] = []

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate streams the prompt first
            self._prompt_seen = True
            return
        token_id = int(value.reshape(-1)[0])
        pending = self._observer.pending.popleft()
        token = self._completion.add(token_id)
        self.probs.append(float(pending.probs[token_id]))
        self.entropies.append(pending.entropy)
        if self._on_step is not None:
            self._on_step(
                GenerationStep(
                    position=self._prompt_length + len(self._completion.ids) - 1,
                    token=token,
                    text=self._completion.prompt + self._completion.text,
                    prob=self.probs[-1],
                    entropy=pending.entropy,
                    attention=pending.attention,
                    routing=pending.routing,
                )
            )

    def end(self) -> None:
        self._observer.pending.clear()


class StopWhen(StoppingCriteria):
    """Ends decoding after the token just chosen when ``stop`` is set, the completion (the tokens after
    the first ``prompt_length``) ends with one of ``strings``, or ``expired()`` says the deadline has
    passed; :attr:`reason` says which."""

    def __init__(
        self,
        stop: threading.Event,
        strings: Sequence[str],
        prompt_length: int,
        decode: Callable[[Sequence[int]], str],
        expired: Callable[[], bool],
    ) -> None:
        self._stop, self._strings, self._expired = stop, tuple(strings), expired
        self._prompt_length, self._decode = prompt_length, decode
        # the last tokens that can hold the longest stop string (a token is at least one byte)
        self._window = 4 * max((len(string) for string in self._strings), default=0)
        self.reason: str | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        if self._stop.is_set():
            self.reason = "stopped"
        elif self._strings and self._tail(input_ids).endswith(self._strings):
            self.reason = "stop string"
        elif self._expired():
            self.reason = "time limit"
        done = self.reason is not None
        result: torch.BoolTensor = torch.full(  # type: ignore[assignment]
            (input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device
        )
        return result

    def _tail(self, input_ids: torch.Tensor) -> str:
        generated = input_ids.shape[1] - self._prompt_length
        return self._decode(input_ids[0, -min(generated, self._window) :].tolist())


class Generation:
    """One generation running in a thread: iterate to get each :class:`GenerationStep` as it arrives;
    :meth:`stop` ends it after the current token, keeping what was produced; :attr:`trace` (after
    :meth:`wait`) is the finished trace, :attr:`error` what stopped it otherwise.

    ``run(on_step, stop)`` is the generation itself (:meth:`HookedModel.generate` with those two).
    """

    _END = object()

    def __init__(self, run: Callable[[Callable[[GenerationStep], None], threading.Event], Trace]) -> None:
        self._stop = threading.Event()
        self._steps: queue.Queue[Any] = queue.Queue()
        self.trace: Trace | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._work, args=(run,), daemon=True, name="deepseek-viz-generate"
        )
        self._thread.start()

    def _work(self, run: Callable[[Callable[[GenerationStep], None], threading.Event], Trace]) -> None:
        try:
            self.trace = run(self._steps.put, self._stop)
        except BaseException as error:  # handed to the caller by wait() and iteration
            self.error = error
        finally:
            self._steps.put(self._END)

    def __iter__(self) -> Iterator[GenerationStep]:
        while (step := self._steps.get()) is not self._END:
            yield step
        self._steps.put(self._END)  # a second iteration ends at once
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """End the generation after the token being made; what was produced is kept."""
        self._stop.set()

    @property
    def running(self) -> bool:
        """Whether the generation has not finished yet."""
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Trace:
        """The finished trace (waiting at most ``timeout`` seconds: ``TimeoutError`` after); the error
        that ended the generation is raised here."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the generation did not finish within {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.trace is not None
        return self.trace
