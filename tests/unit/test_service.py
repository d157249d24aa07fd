"""The model service (serve/service.py, serve/security.py and ``deepseek-viz serve``): the routes of a
running service (2 replicas of the bundled model behind a token, :mod:`tests.serve_fixtures`), and the
rules that need no server."""

from __future__ import annotations

import httpx
import pytest
import torch

from deepseek_viz.serve import wire
from deepseek_viz.serve.security import (
    InsecureBindingError,
    authorization_error,
    check_binding,
    is_loopback,
    resolve_token,
)
from deepseek_viz.serve.service import MemoryCache, cache_key, error_fields
from tests.serve_fixtures import RunningService, service  # noqa: F401

pytestmark = pytest.mark.timeout(120)


def _client(running: RunningService, token: str | None = "right") -> httpx.Client:
    headers = {"Authorization": f"Bearer {running.token if token == 'right' else token}"} if token else {}
    return httpx.Client(base_url=running.url, headers=headers, timeout=30)


def _call(client: httpx.Client, call: str, fields: dict, arrays: dict | None = None) -> httpx.Response:
    body = wire.encode(fields, arrays or {})
    return client.post(f"/v1/call/{call}", content=body, headers={"Content-Type": wire.MEDIA_TYPE})


def _assert_clear_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert words in body["error"] and body["type"]
    assert "Traceback" not in response.text and 'File "' not in response.text


# the rules, with no server


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_addresses_are_recognised(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "10.0.0.1", "example.org", ""])
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_loopback_without_token_is_allowed_and_anything_else_needs_one() -> None:
    check_binding("127.0.0.1", None)
    check_binding("0.0.0.0", "a-token")
    with pytest.raises(InsecureBindingError, match="--token"):
        check_binding("0.0.0.0", None)


def test_the_token_comes_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_VIZ_TOKEN", "from-env")
    assert resolve_token(None) == "from-env"
    assert resolve_token("given") == "given"
    monkeypatch.setenv("DEEPSEEK_VIZ_TOKEN", "")
    assert resolve_token(None) is None


def test_authorization_compares_the_bearer_token() -> None:
    assert authorization_error(None, None) is None
    assert authorization_error("Bearer secret", "secret") is None
    assert "needs a token" in (authorization_error(None, "secret") or "")
    assert "Bearer <token>" in (authorization_error("Basic secret", "secret") or "")
    assert "not this model service's token" in (authorization_error("Bearer secreT", "secret") or "")


def test_an_unexpected_error_is_named_but_its_message_is_not_sent() -> None:
    status, body = error_fields(RuntimeError("/home/secret/path line 3"), "trace")
    assert status == 500
    assert body == {"error": "internal error: RuntimeError", "type": "RuntimeError"}


def test_model_errors_get_their_status_and_message() -> None:
    from deepseek_viz.model import ComputationTimeoutError, LayerOutOfRangeError, TraceTooLargeError
    from deepseek_viz.model.hooked_model import TraceOutOfMemoryError

    assert error_fields(ComputationTimeoutError(2.0), "trace")[0] == 504
    assert error_fields(TraceTooLargeError("needs 9 GB"), "trace") == (
        413,
        {"error": "needs 9 GB", "type": "TraceTooLargeError"},
    )
    assert error_fields(TraceOutOfMemoryError("out of memory"), "trace")[0] == 507
    assert error_fields(LayerOutOfRangeError("layer 9"), "trace")[0] == 422
    assert error_fields(KeyError("text"), "trace")[1]["error"] == "text"
    assert error_fields(wire.WireError("not a message"), "trace")[0] == 400


def test_the_cache_key_names_revision_call_and_bytes() -> None:
    keys = {cache_key("r1", "trace", b"a"), cache_key("r2", "trace", b"a"), cache_key("r1", "tokenize", b"a"),
            cache_key("r1", "trace", b"b"), cache_key("r1tra", "ce", b"a")}
    assert len(keys) == 5


def test_the_memory_cache_is_byte_bounded_and_keeps_the_recently_used() -> None:
    cache = MemoryCache(max_bytes=800)
    cache.put("a", b"x" * 100)
    assert cache.put("huge", b"x" * 101) is None and cache.get("huge") is None  # over an eighth
    for key in "bcdefgh":
        cache.put(key, b"x" * 100)
    assert cache.get("a") == b"x" * 100  # "a" is now the most recent
    cache.put("i", b"x" * 100)
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("i") is not None


# a running service


def test_health_needs_no_token(service: RunningService) -> None:  # noqa: F811
    with _client(service, token=None) as client:
        response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["revision"]


def test_info_names_the_model_and_the_replica(service: RunningService) -> None:  # noqa: F811
    with _client(service) as client:
        response = client.get("/v1/info")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["pid"] > 0 and info["replica"].startswith("SERVE_REPLICA::")


def test_a_token_is_required(service: RunningService) -> None:  # noqa: F811
    with _client(service, token=None) as client:
        _assert_clear_error(client.get("/v1/info"), 401, "needs a token")
        _assert_clear_error(_call(client, "info", {}), 401, "needs a token")
    with _client(service, token="wrong") as client:
        _assert_clear_error(client.get("/v1/info"), 401, "not this model service's token")
    with _client(service) as client:
        assert _call(client, "info", {}).status_code == 200


def test_an_oversized_body_is_refused_with_413(service: RunningService) -> None:  # noqa: F811
    body = bytes(service.limits.max_request_bytes + 1)
    with _client(service) as client:
        declared = client.post("/v1/call/trace", content=body)
        streamed = client.post("/v1/call/trace", content=iter([body[: len(body) // 2], body[len(body) // 2 :]]))
    _assert_clear_error(declared, 413, f"at most {service.limits.max_request_bytes} bytes")
    _assert_clear_error(streamed, 413, f"over {service.limits.max_request_bytes} bytes")


def test_a_malformed_body_is_refused_with_400(service: RunningService) -> None:  # noqa: F811
    with _client(service) as client:
        response = client.post("/v1/call/trace", content=b"{\"text\": \"pickle me\"}")
        truncated = client.post("/v1/call/trace", content=wire.encode({"text": "hi"}, {"ids": torch.ones(8)})[:-8])
    _assert_clear_error(response, 400, "not a deepseek-viz message")
    _assert_clear_error(truncated, 400, "runs past the end of the message")


def test_an_unknown_call_is_404(service: RunningService) -> None:  # noqa: F811
    with _client(service) as client:
        _assert_clear_error(_call(client, "no_such_call", {}), 404, "no_such_call")
