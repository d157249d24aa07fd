"""Keep traits of several widgets equal (shared text, shared selected token, …)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets


class TraitLink:
    """Two-way links between same-named traits of two widgets; ``unlink()`` removes them all.

    Built on :func:`traitlets.link`, which guards against feedback loops (a change it forwards is not
    forwarded back). On creation the second widget takes the first one's values, in the given order.
    """

    def __init__(
        self, source: traitlets.HasTraits, target: traitlets.HasTraits, names: Iterable[str]
    ) -> None:
        self.names = tuple(names)
        for name in self.names:
            for widget in (source, target):
                if not widget.has_trait(name):
                    raise TypeError(f"{type(widget).__name__} has no trait {name!r} to link")
        self._links = [traitlets.link((source, name), (target, name)) for name in self.names]

    def unlink(self) -> None:
        """Stop keeping the traits equal (idempotent)."""
        for link in self._links:
            link.unlink()
        self._links = []


def link(first: Any, second: Any) -> Any:
    """Link two views: ``dv.link(scatter, attention_view)`` is ``scatter.link(attention_view)`` (shared
    text and selected token between live views; clicks and the live point for an embedding scatter).
    Returns the link object, whose ``unlink()`` ends it."""
    return first.link(second)
