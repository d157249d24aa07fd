"""The parts views share: :class:`ModelView` (the model, a ``status``, :meth:`~ModelView.refresh`) and,
for the live text views, an editable ``text``, the edit protocol, linking, and the tokens (with an
optional selected one) sent to the browser."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import anywidget
import traitlets

from ..model import DeepseekVizError, ModelInterface, Token, Trace
from ..model.tokens import well_formed
from .base import StrictKeywords, require_bundle
from .commands import command, describe_error
from .linking import TraitLink
from .status import Status, StatusTrait

log = logging.getLogger(__name__)

# Token kinds sent to the browser with each token's display text (``js/src/lib/tokens.ts``).
NORMAL, SPECIAL, PIECE = 0, 1, 2

#: What :meth:`LiveTextWidget.link` keeps equal by default (those of them both widgets have).
LINKED_TRAITS = ("text", "selected_token")


def token_index(value: Any, count: int) -> int:
    """``value`` as a ``selected_token``: ``-1`` (none) or one of ``count`` tokens, else
    :class:`traitlets.TraitError`."""
    index = int(value)
    if index != -1 and not 0 <= index < count:
        raise traitlets.TraitError(f"selected_token {index} is out of range: -1 (none) or 0–{count - 1}")
    return index


def display_tokens(tokens: list[Token]) -> list[list[Any]]:
    """``[text, kind]`` per token: the source text of its span, the vocabulary string of a special
    token, and an empty text with kind ``PIECE`` for the second and later byte pieces of a character
    (CJK, emoji), whose spans overlap the first piece's, so each character is shown once."""
    shown: list[list[Any]] = []
    covered = 0  # end of the source shown by earlier tokens
    for token in tokens:
        if token.special:
            shown.append([token.text, SPECIAL])
        elif token.start < covered:
            shown.append(["", PIECE])
        else:
            shown.append([token.text, NORMAL])
        covered = max(covered, token.end)
    return shown


def require_model(model: object) -> ModelInterface:
    """``model`` if it implements :class:`ModelInterface` (a :class:`HookedModel` from ``load_model``, or a
    stand-in such as a model-service client), else a :class:`TypeError` that says how to get one."""
    if not isinstance(model, ModelInterface):
        raise TypeError(
            "model must be a deepseek_viz HookedModel (dv.load_model(...)) or another ModelInterface, "
            f"not {type(model).__name__}"
        )
    return model


class ModelView(StrictKeywords, anywidget.AnyWidget):
    """Base class of every view of a model.

    Creating a view first checks that its JavaScript is built (a :class:`RuntimeError` naming ``make js``
    otherwise: ``import deepseek_viz`` works without it) and that no keyword argument is unknown (a
    :class:`TypeError` listing the valid ones, :class:`~deepseek_viz.widgets.base.StrictKeywords`);
    ``__init__(model)`` checks that ``model`` is a :class:`ModelInterface` (a :class:`TypeError` otherwise,
    before the widget opens) and keeps it as :attr:`model`.

    ``status`` (read-only) is a :class:`Status`: ``ready``, ``computing`` or an error with its message,
    synced to the browser as ``{state, message}`` and shown there as ``ready``, ``computing`` or
    ``error: …``. :meth:`refresh` recomputes what the view shows; it never raises: an error becomes
    ``status`` and the view keeps what it showed. ``_data_id`` bumps with every new data the view sends.
    """

    status = StatusTrait(read_only=True)
    _data_id = traitlets.Int(0).tag(sync=True)

    def __new__(cls, *args: Any, **kwargs: Any) -> ModelView:
        require_bundle(cls)  # before any work of the constructor
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, model: ModelInterface, **traits: Any) -> None:
        self._hooked = require_model(model)
        super().__init__(**traits)

    @property
    def model(self) -> ModelInterface:
        """The model this view shows."""
        return self._hooked

    def refresh(self) -> None:
        """Recompute what the view shows and send it. An error becomes ``status`` (an unexpected one is
        also logged in the kernel) and the view keeps what it showed."""
        try:
            self._update()
        except Exception as error:  # a view's bug must not escape to the caller (an edit, a dashboard)
            if not isinstance(error, DeepseekVizError):
                log.exception("deepseek-viz: %s failed to update", type(self).__name__)
            self._finish(Status.error(describe_error(error)))

    def _update(self) -> None:
        """Compute what the traits ask for and send it; ends with :meth:`_finish` (each view defines it).
        Errors it raises become ``status`` (:meth:`refresh`)."""
        raise NotImplementedError

    def _computing(self) -> None:
        self.set_trait("status", Status.computing())

    def _finish(self, status: Status | None = None) -> None:
        """Publish ``status`` (default ``ready``)."""
        self.set_trait("status", status or Status.ready())


class LiveTextWidget(ModelView):
    """Base class of views that trace a text the user edits in the browser.

    Protocol (``js/src/lib/live_editor.ts`` is the other side): the browser debounces edits and
    sends ``{text, seq}`` with the ``_edit`` command; ``seq`` grows with every edit. At most one edit is
    out at a time: what is typed meanwhile goes, as its latest text only, after the reply. An edit not
    newer than one already answered is dropped. Setting ``text`` refreshes the view (the subclass
    observes ``text`` and calls :meth:`refresh`); every update ends with :meth:`_finish`, which
    publishes ``status`` and ``_seq`` (the newest edit answered), so the browser can drop results older
    than what it shows.

    ``show_editor=False`` hides the view's own text box and status line (a :class:`Dashboard`'s one
    text box drives its views). ``_tokens`` is ``[[text, kind], …]`` (:func:`display_tokens`).
    """

    text = traitlets.Unicode("").tag(sync=True)
    show_editor = traitlets.Bool(True).tag(sync=True)
    _seq = traitlets.Int(0).tag(sync=True)
    _tokens: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)

    def __init__(self, model: ModelInterface, **kwargs: Any) -> None:
        self._pending_seq = 0
        super().__init__(model, **kwargs)

    def link(self, other: traitlets.HasTraits, names: Iterable[str] | None = None) -> TraitLink:
        """Keep ``text`` and ``selected_token`` (those of them both widgets have; or exactly ``names``)
        equal with ``other`` (e.g. another view); ``other`` takes this view's values now. Returns a
        :class:`TraitLink` whose ``unlink()`` ends it."""
        if names is None:
            names = [name for name in LINKED_TRAITS if self.has_trait(name) and other.has_trait(name)]
        return TraitLink(self, other, names)

    def _start(self, text: str, **traits: Any) -> None:
        """End of a subclass's ``__init__``: set ``traits`` (in order) and ``text`` with one round of
        notifications, then :meth:`refresh` (also when nothing changed)."""
        with self.hold_trait_notifications():
            for name, value in traits.items():
                setattr(self, name, value)
            self.text = text
        self.refresh()

    def _finish(self, status: Status | None = None) -> None:
        """Publish ``status`` (default ``ready``) and mark the newest edit received as answered."""
        with self.hold_sync():
            self._seq = max(self._seq, self._pending_seq)
            super()._finish(status)

    @traitlets.validate("text")
    def _valid_text(self, proposal: Any) -> str:
        """Lone surrogates (a browser string may hold them; no tokenizer encodes them) become U+FFFD."""
        return well_formed(proposal["value"])

    @command
    def _edit(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{text, seq}`` from the browser's debounced editor; edits older than one answered are dropped.
        The browser sends its next edit only after this reply; a failed update is the view's ``status``
        (:meth:`refresh`), and the reply says the edit was taken."""
        seq = int(msg["seq"])
        if seq <= self._seq:
            return {"seq": seq, "stale": True}, []
        self._pending_seq = seq
        text = well_formed(str(msg["text"]))
        if self.text == text:
            self._finish(self.status)
        else:
            self.text = text
        return {"seq": seq, "stale": False}, []


class TracedTextWidget(LiveTextWidget):
    """A live view of one trace of its text, with a ``selected_token`` (``-1``: none) among its tokens."""

    selected_token = traitlets.Int(-1).tag(sync=True)

    def __init__(self, model: ModelInterface, **kwargs: Any) -> None:
        self._trace: Trace | None = None
        super().__init__(model, **kwargs)

    @property
    def trace(self) -> Trace | None:
        """The trace shown now (``None`` before the first successful trace, for an empty text, or where
        the view needs none, e.g. a :class:`RoutingView` of a dense model)."""
        return self._trace

    def _start(self, text: str, selected_token: int = -1, **traits: Any) -> None:
        super()._start(text, **traits)
        self.selected_token = selected_token  # once the tokens it must fall among are there

    @traitlets.validate("selected_token")
    def _valid_selected_token(self, proposal: Any) -> int:
        return token_index(proposal["value"], len(self._tokens))

    def _show_tokens(self, tokens: list[Token]) -> None:
        """Send ``tokens`` (for display), dropping a selection they no longer reach."""
        if self.selected_token >= len(tokens):
            self.selected_token = -1
        self._tokens = display_tokens(tokens)
