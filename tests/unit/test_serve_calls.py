"""ModelCalls, the service's side of every model call: the bounds it enforces, the answers of bad
requests, trace reads recomputed by a replica that never saw the trace, generation's messages, and the
wire form of interventions and errors."""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.serve import codec, wire
from deepseek_viz.serve.calls import ModelCalls, RequestError, ServiceLimits
from deepseek_viz.serve.client import HttpTransport, ServiceError, raise_error

TEXT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def calls() -> ModelCalls:
    return ModelCalls(dv.load_model(device="cpu"), ServiceLimits(max_samples=2, max_new_tokens=4))


def test_info_names_the_weights_and_the_limits(calls: ModelCalls) -> None:
    fields, arrays = calls.handle("info", {}, {})
    assert fields["revision"] == calls.revision and calls.revision.startswith("bundled@")
    assert fields["limits"]["max_samples"] == 2 and arrays == {}
    assert dv.ModelStructure.from_dict(fields["structure"]) == calls.model.structure()
    assert ModelCalls(dv.load_model(device="cpu")).revision == calls.revision  # the same weights


def test_unknown_calls_and_reads_are_404(calls: ModelCalls) -> None:
    with pytest.raises(RequestError, match="no call 'nothing'") as error:
        calls.handle("nothing", {}, {})
    assert error.value.status == 404
    with pytest.raises(RequestError, match="no trace read 'secrets'") as error:
        calls.handle("trace_read", {"text": TEXT, "read": "secrets"}, {})
    assert error.value.status == 404


def test_malformed_fields_are_400(calls: ModelCalls) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("tokenize", {"text": 5}),
        ("decode", {"ids": ["a"]}),
        ("trace", {"text": TEXT, "interventions": [{"kind": "os.system", "layer": 0}]}),
        ("trace", {"text": TEXT, "seconds": -1}),
    ]
    for call, fields in cases:
        with pytest.raises(RequestError) as error:
            calls.handle(call, fields, {})
        assert error.value.status == 400, call


def test_batches_over_max_samples_are_413(calls: ModelCalls) -> None:
    with pytest.raises(RequestError, match="at most 2") as error:
        calls.handle(
            "hidden_states",
            {"layer": 1},
            {"ids": torch.arange(3), "lengths": torch.ones(3, dtype=torch.long)},
        )
    assert error.value.status == 413
    embeddings = torch.zeros(3, 4, calls.model.d_model)
    with pytest.raises(RequestError, match="at most 2"):
        calls.handle("logits", {"positions": [0]}, {"embeddings": embeddings})


def test_a_read_of_a_trace_this_replica_never_made(calls: ModelCalls) -> None:
    fresh = ModelCalls(dv.load_model(device="cpu"))
    request = {"text": TEXT, "layers": [0], "read": "attention_tensor", "layer": 2, "heads": [1]}
    want = calls.handle("trace_read", request, {})[1]["pattern"]
    assert not fresh.model._cache  # nothing traced there yet
    torch.testing.assert_close(fresh.handle("trace_read", request, {})[1]["pattern"], want)
    assert want.shape[0] == 1


def test_interventions_cross_as_they_are() -> None:
    patch = dv.ResidualPatch(1, (0, 2), torch.randn(2, 8), rows=(0,))
    ablation = dv.HeadAblation(0, (3, 1), mode="mean")
    described, arrays = codec.interventions_fields([ablation, patch])
    fields, wired = wire.decode(wire.encode({"interventions": described}, arrays))
    back = codec.interventions_from(fields["interventions"], wired)
    assert back[0] == ablation
    assert isinstance(back[1], dv.ResidualPatch) and (back[1].layer, back[1].positions, back[1].rows) == (
        1,
        (0, 2),
        (0,),
    )
    torch.testing.assert_close(back[1].values, patch.values)


def test_generation_messages_and_stop(calls: ModelCalls) -> None:
    messages = list(calls.generate({"prompt": "Once upon", "max_new_tokens": 8}, {}, threading.Event()))
    assert messages[0][0]["start"] and messages[0][0]["prompt"] == "Once upon"
    assert len(messages) == 1 + 4 + 1  # the start, max_new_tokens clamped to 4 steps, the end
    done = messages[-1][0]
    assert done["done"] and done["completion"]["stop_reason"] == "length"
    stop = threading.Event()
    stop.set()  # set before the first step: the generation ends after it
    stopped = list(calls.generate({"prompt": "Once upon", "max_new_tokens": 4}, {}, stop))
    assert len(stopped) == 1 + 1 + 1 and stopped[-1][0]["completion"]["stop_reason"] == "stopped"


def test_errors_rebuild_only_known_classes() -> None:
    with pytest.raises(dv.TextTooLongError, match="the limit is 8") as too_long:
        raise_error(codec.error_fields(dv.TextTooLongError(9, 8)), 413)
    assert (too_long.value.num_tokens, too_long.value.max_tokens) == (9, 8)
    with pytest.raises(dv.ComputationTimeoutError, match="stopped after 2 s") as timeout:
        raise_error(codec.error_fields(dv.ComputationTimeoutError(2.0)), 504)
    assert timeout.value.seconds == 2.0
    with pytest.raises(ServiceError, match="boom"):
        raise_error({"error": "boom", "type": "SystemExit"}, 500)
    with pytest.raises(RequestError, match="too big") as error:
        raise_error({"error": "too big"}, 413)
    assert error.value.status == 413


def test_cacheable(calls: ModelCalls) -> None:
    assert calls.cacheable("trace_read") and calls.cacheable("tokenize")
    assert not calls.cacheable("info") and not calls.cacheable("nothing")
    assert calls.cache_fields({"text": TEXT, "seconds": 3.5, "interventions": []}) == {
        "text": TEXT,
        "interventions": [],
    }


class _Service(BaseHTTPRequestHandler):
    """Answers as the model service does: a wire message, a JSON error, or a stream of frames."""

    def do_POST(self) -> None:
        fields, _arrays = wire.decode(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v1/call/echo":
            self._send(
                200, wire.encode({**fields, "auth": self.headers.get("Authorization")}, {"x": torch.ones(2)})
            )
        elif self.path == "/v1/generate":
            frames = [wire.encode({"step": i}) for i in range(2)] + [wire.encode({"done": True})]
            self._send(200, b"".join(struct.pack("<I", len(frame)) + frame for frame in frames))
        else:
            error = {"error": "the text is 9 tokens long; the limit is 8.", "type": "TextTooLongError"}
            self._send(413, json.dumps(error).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_transport(service: str) -> None:
    transport = HttpTransport(service, token="secret")
    fields, arrays = transport.call("echo", {"text": "hi"}, {})
    assert fields == {"text": "hi", "auth": "Bearer secret"}
    torch.testing.assert_close(arrays["x"], torch.ones(2))
    with pytest.raises(dv.TextTooLongError, match="the limit is 8"):
        transport.call("trace", {}, {})
    assert [message for message, _ in transport.stream("generate", {}, {})] == [
        {"step": 0},
        {"step": 1},
        {"done": True},
    ]
    transport.close()


def test_a_generated_trace_on_a_replica_that_never_wrote_it(calls: ModelCalls) -> None:
    *_, (done, _arrays) = calls.generate({"prompt": "咳嗽可能是", "max_new_tokens": 4}, {}, threading.Event())
    start = done["completion"]["prompt_length"]
    tokens = codec.tokens_from(done["tokens"])
    request = {
        "prompt": done["text"][: tokens[start].start],
        "prompt_tokens": done["tokens"][:start],
        "ids": [token.id for token in tokens[start:]],
        "read": "top_predictions",
        "k": 2,
    }
    fresh = ModelCalls(dv.load_model(device="cpu"))
    assert fresh.handle("trace", request, {})[0]["tokens"] == done["tokens"]
    want = calls.handle("trace_read", request, {})
    got = fresh.handle("trace_read", request, {})
    assert got[0] == want[0]
    torch.testing.assert_close(got[1]["probs"], want[1]["probs"])
