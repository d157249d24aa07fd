"""A view's status: what it is doing (``ready``, ``computing``) or why its last update failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import traitlets

State = Literal["ready", "computing", "error"]


@dataclass(frozen=True)
class Status:
    """``state`` (``"ready"``, ``"computing"`` or ``"error"``) and, for an error, its ``message``.

    ``str(status)`` is what the browser shows: ``"ready"``, ``"computing"`` (``"computing: …"`` with a
    message saying what runs) or ``"error: …"``.
    """

    state: State = "ready"
    message: str = ""

    @classmethod
    def ready(cls) -> Status:
        """Finished: the view shows what was asked."""
        return cls("ready")

    @classmethod
    def computing(cls) -> Status:
        """Working on an update."""
        return cls("computing")

    @classmethod
    def error(cls, message: str) -> Status:
        """The last update failed with ``message``; the view keeps what it showed before."""
        return cls("error", message)

    @property
    def ok(self) -> bool:
        """Whether the state is ``ready``."""
        return self.state == "ready"

    @property
    def failed(self) -> bool:
        """Whether the state is ``error``."""
        return self.state == "error"

    def __str__(self) -> str:
        if self.state == "computing" and self.message:
            return f"computing: {self.message}"  # what runs, e.g. "SHAP 120/500 evaluations"
        return f"error: {self.message}" if self.failed else self.state


def status_to_json(status: Status, _widget: Any) -> dict[str, str]:
    """The wire value of a status trait: ``{state, message}`` (``js/src/lib/status.ts``)."""
    return {"state": status.state, "message": status.message}


def status_from_json(value: dict[str, str], _widget: Any) -> Status:
    """:func:`status_to_json` read back."""
    return Status(value["state"], value.get("message", ""))  # type: ignore[arg-type]


class StatusTrait(traitlets.TraitType[Status, Status]):
    """A trait holding a :class:`Status` (default ``ready``), synced as ``{state, message}``."""

    default_value = Status()
    info_text = "a deepseek_viz Status"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tag(sync=True, to_json=status_to_json, from_json=status_from_json)

    def validate(self, obj: Any, value: Any) -> Status:
        """Only :class:`Status` values."""
        if isinstance(value, Status):
            return value
        self.error(obj, value)
