"""The part every live view shares: an editable ``text``, a ``status`` line and the edit protocol."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets
from anywidget.experimental import command


class LiveTextWidget(anywidget.AnyWidget):
    """Base class of views that trace a text the user edits in the browser.

    Protocol (``js/src/lib/live_editor.ts`` is the other side): the browser debounces edits and
    sends ``{text, seq}`` with the ``_edit`` command; ``seq`` grows with every edit. An edit not newer
    than one already answered is dropped. Setting ``text`` runs the subclass's update (observe
    ``text``); the subclass ends every update with :meth:`_finish`, which publishes ``status`` and
    ``_seq`` (the newest edit answered), so the browser can drop results older than what it shows.

    ``status`` is ``"ready"``, ``"computing"`` or ``"error: …"``.
    """

    text = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("ready", read_only=True).tag(sync=True)
    _seq = traitlets.Int(0).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        self._pending_seq = 0
        super().__init__(**kwargs)

    def _computing(self) -> None:
        self.set_trait("status", "computing")

    def _finish(self, status: str = "ready") -> None:
        """Publish ``status`` and mark the newest edit received as answered."""
        with self.hold_sync():
            self._seq = max(self._seq, self._pending_seq)
            self.set_trait("status", status)

    @command
    def _edit(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{text, seq}`` from the browser's debounced editor; edits older than one answered are dropped."""
        seq = int(msg["seq"])
        if seq <= self._seq:
            return {"seq": seq, "stale": True}, []
        self._pending_seq = seq
        if self.text == msg["text"]:
            self._finish(self.status)
        else:
            self.text = str(msg["text"])
        return {"seq": seq, "stale": False}, []
