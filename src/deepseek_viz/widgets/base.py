"""What every widget class shares before any model work: strict keyword arguments and its JS bundle."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

#: Where ``npm run build`` (``make js``) writes the views' bundles (``js/src/<name>.ts``).
STATIC = Path(__file__).parent.parent / "static"


class MissingBundle:
    """Stands in for a view's ``_esm`` when its bundle is not built, so ``import deepseek_viz`` works
    before the JS is; :func:`require_bundle` refuses to open such a view."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"MissingBundle({str(self.path)!r})"


def bundle(name: str) -> Path | MissingBundle:
    """The ``_esm`` of a view: ``static/<name>.js`` when built, else a :class:`MissingBundle`."""
    path = STATIC / f"{name}.js"
    return path if path.is_file() else MissingBundle(path)


def require_bundle(widget_class: type) -> None:
    """A :class:`RuntimeError` naming the build command when ``widget_class``'s bundle is not built."""
    esm = getattr(widget_class, "_esm", None)
    if isinstance(esm, MissingBundle):
        raise RuntimeError(
            f"{widget_class.__name__} cannot be shown: its JavaScript ({esm.path.name}) is not built. "
            "Run `make js` (or `cd js && npm ci && npm run build`) in the deepseek-viz source tree, "
            "then restart the kernel."
        )


def keyword_names(init: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    """The names ``init`` takes as keyword arguments, and whether it also takes ``**kwargs``."""
    parameters = list(inspect.signature(init).parameters.values())[1:]  # without self
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = frozenset(parameter.name for parameter in parameters if parameter.kind in kinds)
    return names, any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)


class StrictKeywords:
    """Mixin: an unknown keyword argument to the constructor raises a :class:`TypeError` that lists the
    valid ones (those named by the class's ``__init__``, plus :attr:`extra_keywords` where it takes
    ``**kwargs``), before any work is done or widget made."""

    #: What a ``**kwargs`` of ``__init__`` accepts (e.g. settings passed on to another function); with
    #: none, an ``__init__`` that takes ``**kwargs`` is not checked.
    extra_keywords: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        names, takes_any = keyword_names(init)
        if takes_any and not cls.extra_keywords:
            return
        valid = names | (cls.extra_keywords if takes_any else frozenset())

        @functools.wraps(init)
        def checked_init(self: Any, *args: Any, **kwargs: Any) -> None:
            if type(self).__init__ is checked_init:  # the constructor called, not a super().__init__
                unknown = sorted(set(kwargs) - valid)
                if unknown:
                    raise TypeError(
                        f"{type(self).__name__} got unknown keyword argument{'s' * (len(unknown) > 1)} "
                        f"{', '.join(map(repr, unknown))}; valid: {', '.join(sorted(valid))}"
                    )
            init(self, *args, **kwargs)

        cls.__init__ = checked_init  # type: ignore[method-assign]
