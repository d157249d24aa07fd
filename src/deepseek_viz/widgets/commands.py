"""Browser commands that always answer: ``@command`` methods reply with their result or with
``{"error": message}`` (``js/src/lib/commands.ts`` turns that into a rejected promise), so the browser
never waits on a command that raised."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from anywidget import experimental

from ..model import DeepseekVizError

log = logging.getLogger(__name__)

Reply = tuple[dict[str, Any], list[bytes]]
W = TypeVar("W")
Handler = Callable[[W, Any, list[bytes]], Reply]


def describe_error(error: BaseException) -> str:
    """One line for the user: an expected error's message (:class:`DeepseekVizError`, e.g. out of
    memory or a time-out), else ``"TypeName: message"``."""
    if isinstance(error, DeepseekVizError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def command(handler: Handler[W]) -> Handler[W]:
    """Mark ``handler(self, msg, buffers) -> (reply, buffers)`` as a browser command (anywidget's
    ``experimental.command``) that always answers: an exception becomes the reply
    ``{"error": describe_error(exception)}``; one other than a :class:`DeepseekVizError` is also logged
    in the kernel."""

    @functools.wraps(handler)
    def answer(widget: W, msg: Any, buffers: list[bytes]) -> Reply:
        try:
            return handler(widget, msg, buffers)
        except Exception as error:  # the browser waits for a reply: it must get one
            if not isinstance(error, DeepseekVizError):
                log.exception(
                    "deepseek-viz: the %s command of %s failed", handler.__name__, type(widget).__name__
                )
            return {"error": describe_error(error)}, []

    return experimental.command(answer)
