"""``GenerationView``: write with the model and watch the tokens arrive, coloured by how sure it was.

``GenerationView(model, prompt="…", max_new_tokens=64, temperature=0.0, top_k=0, top_p=1.0, seed=None,
chat=False, colour_by="probability", max_new_tokens_limit=None, thumbnails=None, interventions=None)``
(``interventions``: an :class:`~.intervention_state.Interventions`, e.g. a Dashboard's; each generation
writes under the ones in force when it starts). Generate (the button, or
:meth:`GenerationView.generate`) runs :meth:`ModelInterface.generate` in a thread of its own, so the
kernel stays responsive; each step's token is sent to the browser as it comes, batched to at most
:data:`FLUSHES_PER_SECOND` updates a second. Stop (the button, or :meth:`~GenerationView.stop`) ends it
after the token being made and keeps what was produced; a new Generate while one runs stops the old one
first (one generation per view at a time). ``max_new_tokens`` is capped by ``max_new_tokens_limit``
(``None``: no cap), which an app sets per visitor. When the generation ends, the timeline gains what
needs the final trace (computed once, not per step): where the logit lens first agrees with each
token, and how much each token's routed experts changed from the token before, in each MoE layer. The final
trace is the model's cached trace of its text (with ``thumbnails`` bins of the all-heads summary, as an
AttentionView asks for), so views given that text show the tokens as they were written.

Traits readable and settable from Python: ``prompt``, ``max_new_tokens``, ``temperature``, ``top_k``,
``top_p``, ``seed``, ``chat``, ``colour_by`` (``"probability"`` or ``"entropy"``), ``selected_token``
(a position in the prompt + completion; ``-1``: none; synced both ways). Read-only: ``generating``,
``stop_reason`` (``""`` before the first generation ends, then ``"length"``, ``"eos"``, ``"stop
string"``, ``"stopped"`` or ``"time limit"``), ``max_new_tokens_limit``, ``num_layers``, ``status``.
:attr:`~GenerationView.trace` is the finished trace (``None`` before, and while the next one is
written). Errors (an empty prompt, a prompt too long, ``chat=True`` without a chat template) become
``status`` and keep what was shown.

Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits, ``None`` when absent):
``_tokens`` ``[[text, kind], …]`` (:func:`~.live_text.display_tokens` kinds) for prompt + completion so
far; ``_prompt_length`` the prompt's tokens (generated token ``j`` is ``_tokens[_prompt_length + j]``);
``_probs`` and ``_entropies`` float32 ``[m]`` per generated token; ``_think`` ``[start, end]`` the
reasoning section among the generated tokens (:func:`~deepseek_viz.analysis.generation_stats.think_split`),
``[]`` when there is none; after the end, ``_lens_layer`` uint16 ``[m]`` the first hidden-state layer
whose lens top-1 is the token (``num_layers + 1``: none) and ``_expert_change`` float32 ``[MoE layer,
m]``, the share of each token's experts new since the token before, per MoE layer (the timeline's
"expert change" row is their mean, "experts by layer" a heat strip of one thin row per MoE layer;
``None`` for a dense model); ``_data_id`` bumps with every update.

``_generate`` command: ``{prompt, max_new_tokens, temperature, chat}`` sets those traits and starts a
generation (the reply comes at once); ``_continue`` command: ``{index}`` writes on from that token
(:meth:`GenerationView.continue_from`); ``_stop`` command: ``{}`` stops it.

Browser ids (``data-testid``): ``generation-view`` (root), ``generation-prompt`` (the prompt box),
``generate-button`` (``stop-button`` while generating), ``continue-button`` (write on from the
selected token; enabled once a generation has finished and a token is selected), ``max-new-tokens`` and ``temperature``
(number inputs), ``chat-mode`` (checkbox), ``colour-by`` (select), ``status`` (``ready — <stop
reason>`` after a generation), ``generation-tokens`` (the token area; ``data-version`` bumps with each
redraw), ``prompt-block``, ``reasoning-block``, ``answer-block``, each token ``token-I`` (``I`` its
position), ``generation-tooltip``, ``generation-timeline`` (the canvas; a column per generated token),
``timeline-legend`` (the colour scale of the tokens and the timeline: the theme's heat scale, its low end
the background, ticks as percentages or nats; ``legend-bar`` its bar).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import traitlets

from ..analysis.generation_stats import expert_change, lens_agreement, prompt_opens_think, think_split
from ..model import DeepseekVizError, EmptyTextError, ModelInterface, Token, Trace
from ..model.generation import GenerationStep
from ..model.tokens import well_formed
from .background import Job, Throttle
from .base import bundle
from .buffers import ArrayTrait, encode_float32, encode_indices
from .commands import command, describe_error
from .intervention_state import Interventions
from .live_text import NORMAL, PIECE, SPECIAL, ModelView, display_tokens, token_index
from .status import Status

log = logging.getLogger(__name__)

#: Most updates a second a generation sends to the browser (steps are batched between them).
FLUSHES_PER_SECOND = 20
COLOUR_BY = ("probability", "entropy")


class _Run(Job):
    """One generation of a view: a :class:`~.background.Job` (its thread; ``cancel`` stops it) and the
    steps it has produced."""

    def __init__(self) -> None:
        super().__init__("generation view")
        self.throttle = Throttle(FLUSHES_PER_SECOND)
        self.prompt_tokens: list[list[Any]] = []
        self.prompt_text = ""
        self.prompt_length = -1  # known with the first step
        self.prefix: list[Token] | None = None  # the prompt's tokens, when writing on from a trace's
        self.tokens: list[Token] = []
        self.probs: list[float] = []
        self.entropies: list[float] = []


class GenerationView(ModelView):
    """Generate from a prompt and watch each token arrive (see the module docstring)."""

    _esm = bundle("generation")

    prompt = traitlets.Unicode("").tag(sync=True)
    max_new_tokens = traitlets.Int(64).tag(sync=True)
    temperature = traitlets.Float(0.0).tag(sync=True)
    top_k = traitlets.Int(0).tag(sync=True)
    top_p = traitlets.Float(1.0).tag(sync=True)
    seed = traitlets.Int(None, allow_none=True).tag(sync=True)
    chat = traitlets.Bool(False).tag(sync=True)
    colour_by = traitlets.Enum(COLOUR_BY, "probability").tag(sync=True)
    selected_token = traitlets.Int(-1).tag(sync=True)
    generating = traitlets.Bool(False, read_only=True).tag(sync=True)
    stop_reason = traitlets.Unicode("", read_only=True).tag(sync=True)
    max_new_tokens_limit = traitlets.Int(None, allow_none=True, read_only=True).tag(sync=True)
    num_layers = traitlets.Int(read_only=True).tag(sync=True)

    _tokens: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)
    _prompt_length = traitlets.Int(0).tag(sync=True)
    _probs = ArrayTrait().tag(sync=True)
    _entropies = ArrayTrait().tag(sync=True)
    _think = traitlets.List(traitlets.Int()).tag(sync=True)
    _lens_layer = ArrayTrait().tag(sync=True)
    _expert_change = ArrayTrait().tag(sync=True)

    def __init__(
        self,
        model: ModelInterface,
        prompt: str = "",
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        chat: bool = False,
        colour_by: str = "probability",
        max_new_tokens_limit: int | None = None,
        thumbnails: int | None = None,
        interventions: Interventions | None = None,
    ) -> None:
        if max_new_tokens_limit is not None and max_new_tokens_limit < 1:
            raise ValueError(f"max_new_tokens_limit must be at least 1 (or None), not {max_new_tokens_limit}")
        self._trace: Trace | None = None
        self._thumbnails = thumbnails  # the all-heads summary the final trace keeps, for an AttentionView
        self._interventions = interventions  # read when a generation starts (a Dashboard's shared set)
        self._run: _Run | None = None
        self._lock = threading.Lock()  # guards _run
        super().__init__(model)
        self.set_trait("num_layers", model.num_layers)
        self.set_trait("max_new_tokens_limit", max_new_tokens_limit)
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.temperature, self.top_k, self.top_p, self.seed = temperature, top_k, top_p, seed
        self.chat = chat
        self.colour_by = colour_by

    # --- public API ------------------------------------------------------------------------------

    @property
    def trace(self) -> Trace | None:
        """The finished generation's trace (``None`` before the first, and while the next is written)."""
        return self._trace

    def generate(self) -> None:
        """Start generating from ``prompt`` with the view's settings, in a thread (stopping one that runs
        first). Never raises: an error becomes ``status``, and what was shown stays."""
        try:
            prompt = well_formed(self.prompt)
            if not prompt:
                raise EmptyTextError("the prompt is empty: type something to continue.")
        except Exception as error:
            self._finish(Status.error(describe_error(error)))
            return
        self._start_run(prompt, None)

    def continue_from(self, index: int) -> None:
        """Write on from token ``index`` of the shown trace (prompt + completion): its tokens up to that
        one, exactly as they were read, become the prompt (the prompt box shows their text) and the rest
        is generated again with the view's settings. :class:`ValueError` without a finished trace or for
        an index outside it."""
        trace = self._trace
        if trace is None or not 0 <= index < len(trace.tokens):
            count = 0 if trace is None else len(trace.tokens)
            raise ValueError(f"no token {index} to continue from: the view shows {count} finished tokens")
        prefix = trace.tokens[: index + 1]
        text = trace.text[: max(token.end for token in prefix)]
        self.prompt = text
        self._start_run(text, prefix)

    def _start_run(self, prompt: str, prefix: list[Token] | None) -> None:
        run = _Run()
        run.prefix = prefix
        with self._lock:
            previous, self._run = self._run, run
        if previous is not None:
            previous.cancel.set()
        settings = {
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "seed": self.seed,
            "chat": self.chat and prefix is None,
            "thumbnails": self._thumbnails,
            "prefix": prefix,
            "interventions": () if self._interventions is None else self._interventions.items,
        }
        new_tokens = self._capped(self.max_new_tokens)
        with self.hold_sync():
            self.set_trait("generating", True)
            self._computing()
        run.start(lambda _job: self._work(run, previous, prompt, new_tokens, settings))

    def stop(self) -> None:
        """Stop the running generation after the token being made (what was produced stays)."""
        run = self._run
        if run is not None:
            run.cancel.set()

    def wait(self, timeout: float | None = None) -> Trace | None:
        """Wait (at most ``timeout`` seconds: :class:`TimeoutError` after) for the running generation;
        its trace (``None`` when it failed: see ``status``, or when none ran)."""
        run = self._run
        if run is not None and not run.wait(timeout):
            raise TimeoutError(f"the generation did not finish within {timeout} s")
        return self._trace

    # --- traits ----------------------------------------------------------------------------------

    def _capped(self, count: int) -> int:
        limit = self.max_new_tokens_limit
        return count if limit is None else min(count, limit)

    @traitlets.validate("max_new_tokens")
    def _valid_max_new_tokens(self, proposal: Any) -> int:
        count = int(proposal["value"])
        if count < 1:
            raise traitlets.TraitError(f"max_new_tokens must be at least 1, not {count}")
        return self._capped(count)

    @traitlets.validate("selected_token")
    def _valid_selected_token(self, proposal: Any) -> int:
        return token_index(proposal["value"], len(self._tokens))

    @traitlets.validate("prompt")
    def _valid_prompt(self, proposal: Any) -> str:
        return well_formed(proposal["value"])

    # --- the generation thread -------------------------------------------------------------------

    def _current(self, run: _Run) -> bool:
        return self._run is run

    def _work(
        self, run: _Run, previous: _Run | None, prompt: str, new_tokens: int, settings: dict[str, Any]
    ) -> None:
        if previous is not None:
            previous.wait()  # one generation per view at a time
        if not self._current(run):
            return  # a newer Generate came meanwhile
        try:
            with self._hooked.intervene(*settings.pop("interventions")):
                trace = self._hooked.generate(
                    prompt,
                    new_tokens,
                    on_step=lambda step: self._on_step(run, step),
                    stop_event=run.cancel,
                    **settings,
                )
            self._show_final(run, trace)
        except Exception as error:  # a thread's failure has nobody to raise to: it is the view's status
            if not isinstance(error, DeepseekVizError):
                log.exception("deepseek-viz: GenerationView's generation failed")
            if self._current(run):
                self._flush(run)  # what was produced stays shown
                with self.hold_sync():
                    self.set_trait("generating", False)
                    self._finish(Status.error(describe_error(error)))

    def _on_step(self, run: _Run, step: GenerationStep) -> None:
        if run.prompt_length < 0:
            run.prompt_length = step.position
            run.prompt_text = step.text[: step.token.start]
            run.prompt_tokens = (
                display_tokens(run.prefix)
                if run.prefix is not None
                else self._prompt_display(run.prompt_text, step.position)
            )
        run.tokens.append(step.token)
        run.probs.append(step.prob)
        run.entropies.append(step.entropy)
        if run.throttle.ready():
            self._flush(run)

    def _prompt_display(self, prompt_text: str, length: int) -> list[list[Any]]:
        """The prompt's tokens as shown while generating (the final trace's replace them): the model's
        tokens of the prompt text, less a BOS the tokenizer adds to a chat prompt that has one, fitted to
        the ``length`` tokens generation read."""
        try:
            shown = display_tokens(self._hooked.tokenize(prompt_text))
        except Exception:  # only a display: the final trace shows the prompt as it was read
            shown = []
        while len(shown) > length and shown[0][1] != PIECE:
            shown.pop(0)
        return shown[:length] + [["", PIECE]] * (length - len(shown))

    def _flush(self, run: _Run) -> None:
        """Send the tokens produced so far (if ``run`` is still the view's)."""
        if not self._current(run) or run.prompt_length < 0:
            return
        # as streamed, a piece that does not end its character has an empty span (the character shows once)
        generated: list[list[Any]] = [
            [t.text, SPECIAL if t.special else NORMAL if t.text else PIECE] for t in run.tokens
        ]
        opened = prompt_opens_think(run.prompt_text)
        split = think_split([t.text for t in run.tokens], opened)
        with self.hold_sync():
            self._trace = None
            self._tokens = run.prompt_tokens + generated
            self._prompt_length = run.prompt_length
            self._probs = encode_float32(np.asarray(run.probs, dtype=np.float32))
            self._entropies = encode_float32(np.asarray(run.entropies, dtype=np.float32))
            self._think = list(split) if split else []
            self._lens_layer = self._expert_change = None
            if self.selected_token >= len(self._tokens):
                self.selected_token = -1
            self._data_id += 1

    def _show_final(self, run: _Run, trace: Trace) -> None:
        """The finished trace: its tokens, the lens and expert rows, the stop reason."""
        completion = trace.completion
        assert completion is not None
        with self._hooked.time_limit():  # one model request: the lens reads the unembedding
            agreement = lens_agreement(trace)
        change = expert_change(trace, by_layer=True)
        if not self._current(run):
            return
        tokens = display_tokens(trace.tokens)
        start = trace.prompt_length
        prompt_text = trace.text[: trace.tokens[start].start] if start < len(trace.tokens) else trace.text
        split = think_split([entry[0] for entry in tokens[start:]], prompt_opens_think(prompt_text))
        with self.hold_sync():
            self._trace = trace
            self._tokens = tokens
            self._prompt_length = start
            self._probs = encode_float32(completion.probs)
            self._entropies = encode_float32(completion.entropies)
            self._think = list(split) if split else []
            self._lens_layer = encode_indices(agreement)
            self._expert_change = None if change is None else encode_float32(change)
            if self.selected_token >= len(tokens):
                self.selected_token = -1
            self.set_trait("stop_reason", completion.stop_reason)
            self.set_trait("generating", False)
            self._data_id += 1
            self._finish()

    def _update(self) -> None:
        """:meth:`refresh` starts a generation."""
        self.generate()

    # --- commands from the browser ---------------------------------------------------------------

    @command
    def _generate(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{prompt, max_new_tokens, temperature, chat}`` from the browser: set them, then generate."""
        with self.hold_trait_notifications():
            self.prompt = str(msg.get("prompt", self.prompt))
            if "max_new_tokens" in msg:
                self.max_new_tokens = int(msg["max_new_tokens"])
            if "temperature" in msg:
                temperature = float(msg["temperature"])
                if temperature < 0:
                    raise ValueError(f"temperature must be 0 (greedy) or more, not {temperature}")
                self.temperature = temperature
            if "chat" in msg:
                self.chat = bool(msg["chat"])
        self.generate()
        return {"started": self.generating}, []

    @command
    def _continue(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{index}`` from the browser: write on from that token (:meth:`continue_from`)."""
        self.continue_from(int(msg["index"]))
        return {"started": self.generating}, []

    @command
    def _stop(self, _msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """Stop the running generation."""
        self.stop()
        return {"stopping": self.generating}, []
