"""What the app shows: :func:`app_view`, a heading, help and export buttons (:class:`~.header.AppView`)
above a :class:`Dashboard` (:func:`main_view`) on the model named by ``$DEEPSEEK_VIZ_MODEL`` (default:
the bundled model), or on the model service at ``$DEEPSEEK_VIZ_SERVER`` (``deepseek-viz app --server URL``:
the visitor's kernel holds a client, no model), within the per-visitor limits the ``deepseek-viz app``
command puts in the environment.

Voila starts one kernel per visitor, and a kernel handles one request at a time, so these limits bound
what each visitor can make the server do: characters per text, tokens per trace, seconds per request
(a generation included: it stops there, keeping what it wrote), samples per SHAP/LIME run and tokens per
generation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from transformers.utils import logging as transformers_logging

from ..model import ModelInterface, load_model
from ..serve import connect
from ..widgets import Dashboard
from .header import AppView

MODEL_ENV = "DEEPSEEK_VIZ_MODEL"
#: The model service the app's kernels use instead of loading a model (``deepseek-viz app --server``).
SERVER_ENV = "DEEPSEEK_VIZ_SERVER"
#: The service's bearer token (read from the environment, never put on a command line).
TOKEN_ENV = "DEEPSEEK_VIZ_TOKEN"
DEFAULT_TEXT = "Quarterly revenue rose 12% to $4.2 billion, beating analyst estimates. 你好，世界！"


@dataclass(frozen=True)
class AppLimits:
    """What one visitor may ask of the app (each is also a ``deepseek-viz app`` option)."""

    #: Longest text accepted from the text box, in characters.
    max_chars: int = 2000
    #: Most tokens traced (the model's ``max_tokens``).
    max_tokens: int = 512
    #: Seconds of model work per request (an edit, a click, a SHAP/LIME run).
    max_seconds: float = 20.0
    #: SHAP evaluations (Owen values, ``partition``) and LIME samples per run.
    max_samples: int = 300
    #: Most tokens one generation writes (the generation panel's cap).
    max_new_tokens: int = 128

    def to_env(self) -> dict[str, str]:
        """The environment variables that carry these limits to the app's kernels."""
        return {
            f"DEEPSEEK_VIZ_{field.name.upper()}": str(getattr(self, field.name)) for field in fields(self)
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppLimits:
        """The limits in ``env`` (:meth:`to_env`'s variables), defaults for those not set."""
        values: dict[str, float] = {}
        for field in fields(cls):
            raw = env.get(f"DEEPSEEK_VIZ_{field.name.upper()}")
            if raw:
                values[field.name] = float(raw) if field.type in (float, "float") else int(raw)
        return cls(**values)  # type: ignore[arg-type]

    def attribution_settings(self) -> dict[str, object]:
        """:class:`AttributionView` settings that keep SHAP and LIME within :attr:`max_samples`."""
        return {
            "shap_algorithm": "partition",
            "shap_max_evals": self.max_samples,
            "lime_samples": self.max_samples,
        }


def app_model(env: Mapping[str, str], limits: AppLimits) -> ModelInterface:
    """The model the app's dashboard shows: a client of ``$DEEPSEEK_VIZ_SERVER`` when it is set (its
    requests bounded by ``limits.max_seconds``; the service bounds the rest), else ``$DEEPSEEK_VIZ_MODEL``
    loaded in this kernel within ``limits``."""
    server = env.get(SERVER_ENV)
    if server:
        remote = connect(server, env.get(TOKEN_ENV) or None)
        remote.max_seconds = limits.max_seconds
        return remote
    transformers_logging.disable_progress_bar()  # a visitor sees the app, not the loading bars
    return load_model(
        env.get(MODEL_ENV) or None, max_tokens=limits.max_tokens, max_seconds=limits.max_seconds
    )


def main_view(env: Mapping[str, str] | None = None) -> Dashboard:
    """The dashboard the app displays, on :func:`app_model`, with :class:`AppLimits` from ``env``
    (default ``os.environ``)."""
    env = os.environ if env is None else env
    limits = AppLimits.from_env(env)
    model = app_model(env, limits)
    return Dashboard(
        model,
        text=DEFAULT_TEXT,
        max_chars=limits.max_chars,
        attribution=limits.attribution_settings(),
        generate=True,
        max_new_tokens=min(64, limits.max_new_tokens),
        max_new_tokens_limit=limits.max_new_tokens,
    )


def app_view(env: Mapping[str, str] | None = None) -> AppView:
    """The app's page: :func:`main_view`'s dashboard under its heading, help and export buttons."""
    return AppView(main_view(env))
