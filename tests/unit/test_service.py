"""The model service (serve/service.py, serve/security.py and ``deepseek-viz serve``): the routes of a
running service (2 replicas of the bundled model behind a token, :mod:`tests.serve_fixtures`), and the
rules that need no server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import struct
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import torch

from deepseek_viz.app.cli import main
from deepseek_viz.model import ComputationTimeoutError
from deepseek_viz.serve import service as service_module
from deepseek_viz.serve import wire
from deepseek_viz.serve.calls import ModelCalls, RequestError
from deepseek_viz.serve.client import connect
from deepseek_viz.serve.security import (
    InsecureBindingError,
    authorization_error,
    check_binding,
    is_loopback,
    replica_token,
    resolve_token,
)
from deepseek_viz.serve.service import (
    Message,
    _frames,
    _hidden_states_batch,
    _signal_handlers_kept,
    error_fields,
)
from tests.serve_fixtures import RunningService, free_port, local_calls_fixture, service_fixture  # noqa: F401

pytestmark = pytest.mark.timeout(120)


def _run_apart(coroutine: Any) -> Any:
    """``asyncio.run(coroutine)`` in a thread of its own: an earlier test (Playwright's sync API) may
    have left an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


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


def test_a_replica_needs_a_token_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPSEEK_VIZ_TOKEN", raising=False)
    assert replica_token(None, required=False) is None
    assert replica_token("given", required=True) == "given"
    with pytest.raises(InsecureBindingError, match="DEEPSEEK_VIZ_TOKEN"):
        replica_token(None, required=True)
    monkeypatch.setenv("DEEPSEEK_VIZ_TOKEN", "on-the-node")
    assert replica_token(None, required=True) == "on-the-node"


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
    from deepseek_viz.model import LayerOutOfRangeError, TraceTooLargeError
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


def _hidden_states_request(sequences: list[list[int]], layer: int) -> Message:
    """A ``hidden_states`` request as the client sends it (the sequences end to end, and their lengths)."""
    ids = torch.tensor([token for sequence in sequences for token in sequence])
    return {"layer": layer}, {"ids": ids, "lengths": torch.tensor([len(sequence) for sequence in sequences])}


class _CountingCalls(ModelCalls):
    """ModelCalls, counting the calls that reach ``handle``."""

    handled = 0

    def handle(self, call: str, fields: dict, arrays: dict) -> tuple[dict, dict]:
        self.handled += 1
        return super().handle(call, fields, arrays)


def test_embedding_requests_alike_run_as_one_batch_and_keep_their_own_answers(
    local_calls: ModelCalls,
) -> None:
    requests = [
        _hidden_states_request([[5, 9, 11], [7]], 2),
        _hidden_states_request([[12, 13]], 2),
        _hidden_states_request([[5, 9]], 1),
    ]
    counting = _CountingCalls(local_calls.model, local_calls.limits)
    answers = _hidden_states_batch(counting, requests)
    assert counting.handled == 2  # one call for layer 2's two requests, one for layer 1's
    for request, answer in zip(requests, answers, strict=True):
        expected_fields, expected = local_calls.handle("hidden_states", *request)
        assert not isinstance(answer, BaseException) and answer[0] == expected_fields
        assert answer[1].keys() == expected.keys()
        for name, state in answer[1].items():
            torch.testing.assert_close(state, expected[name], atol=1e-5, rtol=1e-4)


def test_a_bad_request_in_a_batch_gets_its_own_error_and_spoils_no_other(local_calls: ModelCalls) -> None:
    bad_lengths = {"ids": torch.tensor([5, 9]), "lengths": torch.tensor([3])}
    requests = [_hidden_states_request([[5, 9]], 2), ({"layer": 2}, bad_lengths)]
    good, bad = _hidden_states_batch(local_calls, requests)
    assert not isinstance(good, BaseException) and good[0] == {"count": 1}
    assert isinstance(bad, RequestError) and bad.status == 422


def test_a_generation_stream_that_is_closed_sets_the_stop_event() -> None:
    stop = threading.Event()

    async def steps() -> AsyncIterator[tuple[dict, dict]]:
        while True:
            yield {"step": 1}, {}

    async def read_one_and_leave() -> bytes:
        stream = _frames(({"step": 0}, {}), steps(), stop)
        first = await anext(stream)
        await stream.aclose()  # what a client that goes away causes
        return first

    first = _run_apart(read_one_and_leave())
    assert wire.decode(first[4:])[0] == {"step": 0} and stop.is_set()


def test_an_error_in_the_middle_of_a_generation_ends_the_stream_with_it() -> None:
    async def steps() -> AsyncIterator[tuple[dict, dict]]:
        yield {"step": 1}, {}
        raise ComputationTimeoutError(3.0)

    async def read_all() -> list[dict]:
        return [
            wire.decode(data[4:])[0] async for data in _frames(({"step": 0}, {}), steps(), threading.Event())
        ]

    *_, last = _run_apart(read_all())
    assert last["done"] is True and last["status"] == 504 and "3 s" in last["error"]
    assert last["type"] == "ComputationTimeoutError" and last["details"] == {"seconds": 3.0}


def test_serve_refuses_a_public_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEEPSEEK_VIZ_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "9"]) == 2
    assert "without a token" in capsys.readouterr().err


def test_ray_init_cannot_take_the_stop_signals_away() -> None:
    def ours(_signum: int, _frame: object) -> None:
        raise AssertionError("not called")

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        with _signal_handlers_kept():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # what ray.init does, in effect
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_stops_serve_and_its_clean_up_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    cleaned_up = []

    def run_service(*_args: object, **_options: object) -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the signal arrives first
        finally:
            cleaned_up.append(True)

    monkeypatch.setattr(service_module, "run_service", run_service)
    assert main(["serve", "--port", str(free_port())]) == 0
    assert cleaned_up == [True]


# a running service


def test_health_needs_no_token(service: RunningService) -> None:
    with _client(service, token=None) as client:
        response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["revision"]


def test_info_names_the_model_and_the_replica(service: RunningService) -> None:
    with _client(service) as client:
        response = client.get("/v1/info")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["pid"] > 0 and info["replica"].startswith("SERVE_REPLICA::")


def test_a_token_is_required(service: RunningService) -> None:
    with _client(service, token=None) as client:
        _assert_clear_error(client.get("/v1/info"), 401, "needs a token")
        _assert_clear_error(_call(client, "info", {}), 401, "needs a token")
    with _client(service, token="wrong") as client:
        _assert_clear_error(client.get("/v1/info"), 401, "not this model service's token")
    with _client(service) as client:
        assert _call(client, "info", {}).status_code == 200


def test_an_oversized_body_is_refused_with_413(service: RunningService) -> None:
    body = bytes(service.limits.max_request_bytes + 1)
    with _client(service) as client:
        declared = client.post("/v1/call/trace", content=body)
        streamed = client.post(
            "/v1/call/trace", content=iter([body[: len(body) // 2], body[len(body) // 2 :]])
        )
    _assert_clear_error(declared, 413, f"at most {service.limits.max_request_bytes} bytes")
    _assert_clear_error(streamed, 413, f"over {service.limits.max_request_bytes} bytes")


def test_a_malformed_body_is_refused_with_400(service: RunningService) -> None:
    with _client(service) as client:
        response = client.post("/v1/call/trace", content=b'{"text": "pickle me"}')
        truncated = client.post(
            "/v1/call/trace", content=wire.encode({"text": "hi"}, {"ids": torch.ones(8)})[:-8]
        )
    _assert_clear_error(response, 400, "not a deepseek-viz message")
    _assert_clear_error(truncated, 400, "runs past the end of the message")


def test_an_unknown_call_or_route_is_404(service: RunningService) -> None:
    with _client(service) as client:
        _assert_clear_error(_call(client, "no_such_call", {}), 404, "no_such_call")
        _assert_clear_error(client.get("/v1/no_such_route"), 404, "Not Found")
        _assert_clear_error(client.get("/v1/call/trace"), 405, "Method Not Allowed")


def _decoded(response: httpx.Response) -> tuple[dict, dict[str, torch.Tensor]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == wire.MEDIA_TYPE
    return wire.decode(response.content)


def test_a_trace_and_a_read_of_it_cross_as_wire_bytes(
    service: RunningService,
    local_calls: ModelCalls,
) -> None:
    request = {"text": "The service answers in bytes.", "layers": [1]}
    read = {**request, "read": "attention_tensor", "layer": 1}
    with _client(service) as client:
        fields, _ = _decoded(_call(client, "trace", request))
        _, arrays = _decoded(_call(client, "trace_read", read))
    expected_fields, _ = local_calls.handle("trace", request, {})
    _, expected_arrays = local_calls.handle("trace_read", read, {})
    assert fields == expected_fields and fields["captured_layers"] == [1]
    torch.testing.assert_close(arrays["pattern"], expected_arrays["pattern"])


def test_a_bad_field_is_422_or_400_with_the_reason(service: RunningService) -> None:
    with _client(service) as client:
        _assert_clear_error(_call(client, "trace", {"text": 5}), 400, "'text' must be a string")
        _assert_clear_error(
            _call(client, "trace_read", {"text": "a b", "read": "attention_tensor", "layer": 99}), 422, "99"
        )


def test_the_service_bounds_each_request(service: RunningService) -> None:
    fields, arrays = _hidden_states_request([[1, 2]] * (service.limits.max_samples + 1), 1)
    with _client(service) as client:
        response = _call(client, "hidden_states", fields, arrays)
    _assert_clear_error(response, 413, f"at most {service.limits.max_samples}")


def test_concurrent_embedding_requests_each_get_their_own_states(
    service: RunningService,
    local_calls: ModelCalls,
) -> None:
    requests = [_hidden_states_request([[5 + i, 9, 11 + i][: 1 + i % 3]] * (1 + i % 2), 2) for i in range(8)]
    with _client(service) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda request: _decoded(_call(client, "hidden_states", *request)), requests))
    for request, (answer, states) in zip(requests, answers, strict=True):
        _, expected = local_calls.handle("hidden_states", *request)
        assert answer["count"] == len(request[1]["lengths"]) and states.keys() == expected.keys()
        for name, state in states.items():
            torch.testing.assert_close(state, expected[name], atol=1e-5, rtol=1e-4)


def test_a_generation_streams_its_steps_then_the_end(service: RunningService) -> None:
    body = wire.encode({"prompt": "Once upon", "max_new_tokens": 4, "min_new_tokens": 4})
    with _client(service) as client:
        response = client.post("/v1/generate", content=body)
    assert response.status_code == 200, response.text
    messages, data = [], response.content
    while data:
        (length,) = struct.unpack_from("<I", data)
        messages.append(wire.decode(data[4 : 4 + length])[0])
        data = data[4 + length :]
    end, steps = messages[-1], [message for message in messages if "position" in message]
    assert end["done"] is True and end["text"].startswith("Once upon")
    assert len(steps) == 4
    assert [step["position"] for step in steps] == list(range(steps[0]["position"], steps[0]["position"] + 4))


def test_a_generation_with_a_bad_request_is_refused_before_streaming(service: RunningService) -> None:
    with _client(service) as client:
        response = client.post("/v1/generate", content=wire.encode({"prompt": 3}))
    _assert_clear_error(response, 400, "'prompt' must be a string")


def test_a_client_uses_the_service_as_a_model(service: RunningService, local_calls: ModelCalls) -> None:
    model = connect(service.url, token=service.token)
    local = local_calls.model
    text = "A remote model reads like a local one."
    assert [token.text for token in model.trace(text).tokens] == [
        token.text for token in local.trace(text).tokens
    ]
    with pytest.raises(ValueError, match=f"at most {service.limits.max_chars}"):
        model.trace("x" * (service.limits.max_chars + 1))


def _replica_of_info(client: httpx.Client) -> tuple[int, str]:
    info = client.get("/v1/info").json()
    return info["pid"], info["replica"]


def test_both_replicas_answer(service: RunningService) -> None:
    with _client(service) as client:
        pids = {_replica_of_info(client)[0] for _ in range(20)}
    assert len(pids) == service.replicas


def test_an_answer_one_replica_made_is_a_redis_hit_for_the_other(service: RunningService) -> None:
    request = {"text": "Shared by the replicas through Redis.", "layers": [1]}
    with _client(service) as client:
        first = _decoded(_call(client, "trace", request))
        keys = service.redis.client().keys("dsv:*")
        assert keys, "the answer went to Redis"
        # the same request again, until both replicas answered it: the one that did not make it has it
        # from Redis (its own memory never saw it), the other from its memory
        answers, caches = [], {}
        for _ in range(40):
            answers.append(_decoded(_call(client, "trace", request)))
            pid, _ = _replica_of_info(client)
            caches[pid] = client.get("/v1/info").json()["cache"]
            if len(caches) == service.replicas and any(c["redis"]["hits"] for c in caches.values()):
                break
    assert all(answer[0] == first[0] for answer in answers)
    assert len(caches) == service.replicas
    assert sum(cache["redis"]["hits"] for cache in caches.values()) >= 1, caches
    assert all(cache["redis"]["state"] == "up" for cache in caches.values()), caches


def test_the_routes_record_the_service_metrics(service: RunningService) -> None:
    with _client(service) as client:
        for _ in range(6):  # the same cacheable request: some replica answers it twice, from its cache
            _decoded(_call(client, "tokenize", {"text": "counted"}))
    wanted = [
        'ray_dsv_requests_total{.*call="tokenize".*status="200"',
        'ray_dsv_requests_total{.*status="401"',
        'ray_dsv_request_seconds_bucket{.*call="tokenize"',
        "ray_dsv_queue_depth{",
        "ray_dsv_batch_size_bucket{",
        'ray_dsv_cache_hits_total{.*tier="memory"',
        'ray_dsv_cache_misses_total{.*tier="memory"',
    ]
    missing = wanted
    for _ in range(60):  # bounded: Ray exports metrics every few seconds
        text = httpx.get(service.metrics_url, timeout=10).text
        missing = [pattern for pattern in wanted if not re.search(pattern, text)]
        if not missing:
            break
        time.sleep(0.5)
    assert not missing


def test_a_killed_replica_is_replaced_and_requests_go_on(
    service: RunningService,
    local_calls: ModelCalls,
) -> None:
    import ray

    with _client(service) as client:
        _, victim = _replica_of_info(client)
        ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
        replicas: set[str] = set()
        for _ in range(120):  # bounded: Serve replaces a dead replica within seconds
            response = client.get("/v1/info")
            if response.status_code == 200:
                replicas.add(response.json()["replica"])
            if len(replicas - {victim}) == service.replicas:
                break
            time.sleep(0.25)
        after = _decoded(_call(client, "tokenize", {"text": "still here"}))[0]
    assert len(replicas - {victim}) == service.replicas  # a new replica took the killed one's place
    assert after == local_calls.handle("tokenize", {"text": "still here"}, {})[0]
