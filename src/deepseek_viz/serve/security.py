"""Who may call the model service: a bearer token, required unless the service listens on loopback only.

The rule has two halves. :func:`check_binding` (run by the command line before anything starts) refuses
a non-loopback address without a token; :func:`authorization_error` (run by every route but the health
check) compares the ``Authorization`` header with the token, when there is one, in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

#: The environment variable that holds the token when ``--token`` is not given.
TOKEN_ENV = "DEEPSEEK_VIZ_TOKEN"
_LOOPBACK_NAMES = {"localhost"}


class InsecureBindingError(ValueError):
    """The service was asked to listen beyond this machine without a token."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` reaches this machine only: ``localhost``, ``127.0.0.0/8`` or ``::1``."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_token(token: str | None) -> str | None:
    """``token``, else the :data:`TOKEN_ENV` environment variable, else ``None`` (an empty one is none)."""
    return token or os.environ.get(TOKEN_ENV) or None


def check_binding(host: str, token: str | None) -> None:
    """Raise :class:`InsecureBindingError` if ``host`` is not a loopback address and there is no token."""
    if token is None and not is_loopback(host):
        raise InsecureBindingError(
            f"refusing to serve on {host} without a token: anyone who can reach it could use the model. "
            f"Pass --token TOKEN or set {TOKEN_ENV}, or listen on 127.0.0.1 only."
        )


def replica_token(token: str | None, required: bool) -> str | None:
    """The token a replica checks: ``token``, else :data:`TOKEN_ENV` where the replica runs (a
    cluster's nodes hold it); :class:`InsecureBindingError` if there is none and one is ``required``."""
    resolved = resolve_token(token)
    if required and resolved is None:
        raise InsecureBindingError(
            f"the model service has no token: set {TOKEN_ENV} where its replicas run, or pass "
            "require_token=False to build_app for a service only this machine can reach"
        )
    return resolved


def authorization_error(header: str | None, token: str | None) -> str | None:
    """Why a request with this ``Authorization`` header is refused, or ``None`` if it may proceed (always
    when the service has no token)."""
    if token is None:
        return None
    if not header:
        return "this model service needs a token: send the header 'Authorization: Bearer <token>'"
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "the Authorization header must be 'Bearer <token>'"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return "the token is not this model service's token"
    return None
