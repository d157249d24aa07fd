"""The model service: a Ray Serve application of replicas that each hold one model, behind FastAPI routes.

Routes (every one but the health check needs the bearer token when the service has one):

* ``GET /v1/health``: ``{"status": "ok", "revision", "pid", "replica"}`` (JSON);
* ``GET /v1/info``: the ``info`` call's fields as JSON, with the replica's ``pid`` and ``replica`` name;
* ``POST /v1/call/{call}``: a wire message (:mod:`.wire`) in, a wire message out;
* ``POST /v1/generate``: a wire message in, a stream of length-prefixed wire messages out (uint32 LE
  length, then the message), one per step, the last ``{"done": true, …}``; an error after the stream
  began is that last message, ``{"done": true, "status", "error", "type"}``; a client that goes away
  stops the generation.

An error is JSON ``{"error": message, "type": class name}`` with a 4xx/5xx status (:func:`error_status`);
an unexpected one is logged here with its traceback and reaches the client as ``internal error: <class>``
only. A body over ``max_request_bytes`` is refused with 413 before it is read. Cacheable calls are
answered from a cache keyed by (model revision, call, request bytes); ``hidden_states`` calls of many
users are merged into one padded batch (``@serve.batch``).
"""

import asyncio
import json
import logging
import os
import signal
import struct
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import ray
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from ray import serve
from ray.serve import Application, Deployment
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..model import (
    ComputationTimeoutError,
    DeepseekVizError,
    TextTooLongError,
    TraceOutOfMemoryError,
    TraceTooLargeError,
    load_model,
)
from . import codec, wire
from .cache import ResponseCache, cache_key
from .calls import ModelCalls, RequestError, ServiceLimits
from .metrics import ServiceMetrics
from .security import authorization_error, check_binding, is_loopback, replica_token, resolve_token

logger = logging.getLogger(__name__)

#: The Serve application's name (and that of its one deployment's replicas' prefix).
APP_NAME = "deepseek-viz"
#: The port the command line serves on when none is given.
DEFAULT_PORT = 8000
#: Bytes of answers one replica keeps in its in-process cache.
CACHE_BYTES = 256 * 2**20
#: Requests one replica takes at once (they wait for the model in turn; concurrent ones can batch).
MAX_ONGOING_REQUESTS = 32
#: How long a ``hidden_states`` call waits for others to share its batch.
BATCH_WAIT_SECONDS = 0.01
_FRAME = struct.Struct("<I")
Message = tuple[dict[str, Any], dict[str, torch.Tensor]]


class BodyTooLargeError(ValueError):
    """A request body over the service's ``max_request_bytes``."""


def error_status(error: BaseException) -> int | None:
    """The HTTP status that answers ``error``, or ``None`` for an unexpected one (a 500, logged)."""
    if isinstance(error, RequestError):
        return int(error.status)
    if isinstance(error, wire.WireError):
        return 400
    if isinstance(error, TraceOutOfMemoryError):
        return 507
    if isinstance(error, (TraceTooLargeError, TextTooLongError, BodyTooLargeError)):
        return 413
    if isinstance(error, ComputationTimeoutError):
        return 504
    if isinstance(error, (IndexError, ValueError, KeyError, TypeError, DeepseekVizError)):
        return 422
    return None


def error_fields(error: BaseException, call: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body that answer ``error``: its message and the nearest class the client
    rebuilds (:func:`.codec.error_fields`); an unexpected one is logged here and only named."""
    kind = type(error).__name__
    status = error_status(error)
    if status is None:
        logger.error("the %r call failed", call, exc_info=error)
        return 500, {"error": f"internal error: {kind}", "type": kind}
    body = {"type": kind, **codec.error_fields(error)}
    return status, {**body, "error": body["error"] or kind}


def _error_response(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with :class:`BodyTooLargeError` as soon as it is known to be over
    ``limit`` bytes: from ``Content-Length`` before reading, else while counting what arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(
            f"the request is {int(declared)} bytes; this service accepts at most {limit} bytes per request"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"the request is over {limit} bytes, the most this service accepts")
        chunks.append(chunk)
    return b"".join(chunks)


def frame(message: Message) -> bytes:
    """One message of a stream: its length (uint32, little-endian), then the wire message."""
    data = wire.encode(*message)
    return _FRAME.pack(len(data)) + data


async def _in_thread(produce: Callable[[], Iterator[Message]]) -> AsyncIterator[Message]:
    """The items of ``produce()``, run in a thread of its own, as they come."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()
    done = object()

    def run() -> None:
        try:
            for item in produce():
                loop.call_soon_threadsafe(queue.put_nowait, (True, item))
        except BaseException as error:  # handed to the stream's reader, which answers it
            loop.call_soon_threadsafe(queue.put_nowait, (False, error))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, (True, done))

    threading.Thread(target=run, name="deepseek-viz-generate", daemon=True).start()
    while True:
        ok, item = await queue.get()
        if not ok:
            raise item
        if item is done:
            return
        yield item


async def _frames(
    first: Message, rest: AsyncIterator[Message], stop: threading.Event
) -> AsyncGenerator[bytes, None]:
    """The stream of a generation; a client that goes away (Serve cancels the request) stops it."""
    try:
        yield frame(first)
        async for step in rest:
            yield frame(step)
    except Exception as error:  # the status is sent already: the last message says what went wrong
        status, body = error_fields(error, "generate")
        yield frame(({"done": True, "status": status, **body}, {}))
    finally:
        stop.set()


def _batchable(arrays: dict[str, torch.Tensor], limit: int) -> bool:
    """Whether a ``hidden_states`` request may share a batch: its sequences (arrays ``ids`` end to end
    and their ``lengths``) make sense and number at most ``limit``, and it carries no other arrays
    (interventions that carry values run alone)."""
    ids, lengths = arrays.get("ids"), arrays.get("lengths")
    if arrays.keys() != {"ids", "lengths"} or ids is None or lengths is None:
        return False
    shaped = ids.dim() == 1 and lengths.dim() == 1 and 0 < lengths.numel() <= limit
    return shaped and not lengths.is_floating_point() and int(lengths.sum()) == ids.numel()


def _sequence_count(request: Message) -> int:
    return int(request[1]["lengths"].numel())


def _hidden_states_batch(calls: ModelCalls, requests: list[Message]) -> list[Message | BaseException]:
    """The answers of ``hidden_states`` requests: those asking the same thing of different sequences
    (the same fields: layer, interventions, time limit) run as one call; a merged call that fails runs
    again request by request, so each gets its own answer or error."""
    groups: dict[str, list[int]] = {}
    for index, (fields, _) in enumerate(requests):
        groups.setdefault(json.dumps(fields, sort_keys=True), []).append(index)
    answers: list[Message | BaseException | None] = [None] * len(requests)
    for members in groups.values():
        batch = [requests[index] for index in members]
        merged = _merged(calls, batch) if len(batch) > 1 else None
        if merged is None:
            merged = [_answer_or_error(calls, request) for request in batch]
        for index, answer in zip(members, merged, strict=True):
            answers[index] = answer
    return [answer for answer in answers if answer is not None]


def _merged(calls: ModelCalls, requests: list[Message]) -> list[Message | BaseException] | None:
    """The answers of ``requests`` from one call on all their sequences, or ``None`` if it failed."""
    ids = torch.cat([arrays["ids"].long() for _, arrays in requests])
    lengths = torch.cat([arrays["lengths"].long() for _, arrays in requests])
    try:
        _, states = calls.handle("hidden_states", requests[0][0], {"ids": ids, "lengths": lengths})
    except Exception:
        return None
    answers: list[Message | BaseException] = []
    start = 0
    for request in requests:
        count = _sequence_count(request)
        answers.append(({"count": count}, {f"state{i}": states[f"state{start + i}"] for i in range(count)}))
        start += count
    return answers


def _answer_or_error(calls: ModelCalls, request: Message) -> Message | BaseException:
    try:
        return calls.handle("hidden_states", *request)
    except Exception as error:
        return error


# Serve pickles the deployment class as it is defined (by value, with the module's names defined so far),
# so everything its methods use is defined above it.
api = FastAPI(title="deepseek-viz model service", docs_url=None, redoc_url=None, openapi_url=None)


@api.exception_handler(StarletteHTTPException)
async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    """FastAPI's own refusals (no such route, a wrong method) in the service's error form."""
    return JSONResponse({"error": str(error.detail), "type": "HTTPException"}, status_code=error.status_code)


@serve.deployment(name="ModelDeployment", max_ongoing_requests=MAX_ONGOING_REQUESTS)
@serve.ingress(api)
class ModelDeployment:
    """One replica: a model (``load_model(model)``), its :class:`ModelCalls` and the routes."""

    def __init__(
        self,
        model: str | None = None,
        *,
        gpus_per_replica: float = 0,
        limits: ServiceLimits | None = None,
        token: str | None = None,
        require_token: bool = True,
        redis: str | None = None,
    ) -> None:
        self.limits = limits or ServiceLimits()
        self.token = replica_token(token, require_token)
        placement: dict[str, Any] = (
            {"device_map": "auto"}
            if gpus_per_replica > 1
            else {"device": "cuda" if gpus_per_replica else "cpu"}
        )
        self.model = load_model(model or None, **placement)
        self.calls = ModelCalls(self.model, self.limits)
        self.cache = ResponseCache(CACHE_BYTES, redis)
        self.metrics = ServiceMetrics()
        self.metrics.record_device_memory()
        self.identity = {
            "pid": os.getpid(),
            "replica": serve.get_replica_context().replica_id.to_full_id_str(),
        }
        cast(Any, self._batched_hidden_states).set_max_batch_size(self.limits.max_samples)

    @api.get("/v1/health")
    async def health(self) -> dict[str, Any]:
        """The replica is up: its model revision, process id and replica name."""
        return {"status": "ok", "revision": self.calls.revision, **self.identity}

    @api.get("/v1/info")
    async def info(self, request: Request) -> Response:
        """The ``info`` call's answer as JSON, with this replica's process id and name and its cache's
        counts (``ResponseCache.stats()``)."""

        async def answer(_body: bytes) -> Response:
            fields, _ = await asyncio.to_thread(self.calls.handle, "info", {}, {})
            return JSONResponse({**fields, **self.identity, "cache": self.cache.stats()})

        return await self._serve("info", request, answer)

    @api.post("/v1/call/{call}")
    async def call(self, call: str, request: Request) -> Response:
        """One model call: a wire message in, a wire message out."""
        return await self._serve(call, request, lambda body: self._call(call, body))

    @api.post("/v1/generate")
    async def generate(self, request: Request) -> Response:
        """A generation: a stream of length-prefixed wire messages, one per step, then the end."""
        return await self._serve("generate", request, self._generate)

    async def _serve(
        self, call: str, request: Request, answer: Callable[[bytes], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        self.metrics.started()
        status = 500
        try:
            refusal = authorization_error(request.headers.get("authorization"), self.token)
            if refusal is not None:
                status = 401
                return _error_response(401, {"error": refusal, "type": "Unauthorized"})
            try:
                response = await answer(await read_body(request, self.limits.max_request_bytes))
            except Exception as error:
                status, body = error_fields(error, call)
                return _error_response(status, body)
            status = response.status_code
            return response
        finally:  # an unknown call's name is not a metric's tag: it is whatever a client sent
            self.metrics.finished("unknown" if status == 404 else call, status, time.perf_counter() - started)

    async def _call(self, call: str, body: bytes) -> Response:
        fields, arrays = wire.decode(body)
        key = None
        if self.calls.cacheable(call):  # what the answer depends on: not the request's own time limit
            key = cache_key(self.calls.revision, call, wire.encode(self.calls.cache_fields(fields), arrays))
        if key is not None:
            cached = await asyncio.to_thread(self.cache.get, key)
            self.metrics.cache_counts(self.cache.stats())
            if cached is not None:
                return Response(content=cached, media_type=wire.MEDIA_TYPE)
        if call == "hidden_states" and _batchable(arrays, self.limits.max_samples):
            answer = await self._batched_hidden_states((fields, arrays))
            if isinstance(answer, BaseException):
                raise answer
        else:
            answer = await asyncio.to_thread(self.calls.handle, call, fields, arrays)
            self.metrics.batched(1)
        answer_fields, answer_arrays = answer
        if call == "info":
            answer_fields = {**answer_fields, **self.identity}
        message = wire.encode(answer_fields, answer_arrays)
        if key is not None:
            await asyncio.to_thread(self.cache.put, key, message)
        return Response(content=message, media_type=wire.MEDIA_TYPE)

    @serve.batch(
        max_batch_size=ServiceLimits().max_samples,  # set to the service's max_samples in __init__
        batch_wait_timeout_s=BATCH_WAIT_SECONDS,
        batch_size_fn=lambda requests: sum(_sequence_count(request) for request in requests),
    )
    async def _batched_hidden_states(self, requests: list[Message]) -> list[Message | BaseException]:
        """Concurrent ``hidden_states`` requests (counted in sequences, at most ``max_samples``) as one
        padded batch through the model (:func:`_hidden_states_batch`)."""
        self.metrics.batched(len(requests))
        return await asyncio.to_thread(_hidden_states_batch, self.calls, requests)

    async def _generate(self, body: bytes) -> Response:
        fields, arrays = wire.decode(body)
        stop = threading.Event()
        steps = _in_thread(lambda: self.calls.generate(fields, arrays, stop))
        try:
            first = await anext(steps)
        except BaseException:
            stop.set()
            raise
        return StreamingResponse(_frames(first, steps, stop), media_type=wire.MEDIA_TYPE)


def _limits(value: ServiceLimits | dict[str, Any] | None) -> ServiceLimits:
    if value is None or isinstance(value, ServiceLimits):
        return value or ServiceLimits()
    return ServiceLimits(**value)


def build_app(args: dict[str, Any]) -> Application:
    """The Serve application (for ``serve build deepseek_viz.serve.service:build_app`` and
    :func:`start_service`). ``args``: ``model`` (hub name or folder; default the bundled model),
    ``replicas`` (1), ``gpus_per_replica`` (0; more than 1 shards the model with ``device_map="auto"``),
    ``cpus_per_replica`` (1), ``limits`` (a :class:`ServiceLimits` or a dict of its fields), ``token``
    (default: the ``DEEPSEEK_VIZ_TOKEN`` environment variable where the replicas run), ``require_token``
    (default true: replicas without a token refuse to start; :func:`start_service` sets it false on a
    loopback address) and ``redis`` (a URL for the shared cache).
    """
    known = {
        "model",
        "replicas",
        "gpus_per_replica",
        "cpus_per_replica",
        "limits",
        "token",
        "require_token",
        "redis",
    }
    unknown = sorted(set(args) - known)
    if unknown:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)} of build_app; it takes {', '.join(sorted(known))}"
        )
    gpus = float(args.get("gpus_per_replica") or 0)
    deployment = cast(Deployment, ModelDeployment).options(
        num_replicas=int(args.get("replicas") or 1),
        ray_actor_options={"num_gpus": gpus, "num_cpus": float(args.get("cpus_per_replica", 1))},
    )
    return deployment.bind(
        args.get("model"),
        gpus_per_replica=gpus,
        limits=_limits(args.get("limits")),
        token=args.get("token"),
        require_token=bool(args.get("require_token", True)),
        redis=args.get("redis"),
    )


@contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    """Within the block, ``ray.init`` may install its own SIGTERM handler (which aborts the process);
    after it, this process's handlers of the stop signals are back (so the caller's clean-up runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)


def start_service(
    model: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    replicas: int = 1,
    gpus_per_replica: float = 0,
    cpus_per_replica: float = 1,
    address: str | None = None,
    token: str | None = None,
    redis: str | None = None,
    limits: ServiceLimits | None = None,
    metrics_port: int | None = None,
    blocking: bool = False,
) -> None:
    """Start the service on the Ray instance this process is connected to, else the cluster at
    ``address``, else a new local one (no dashboard: for one, ``ray start --head`` and pass its address;
    its Prometheus endpoint on ``metrics_port``, else a port Ray picks); return once its replicas are up (``blocking``: serve until interrupted instead). A
    non-loopback ``host`` needs a token (:func:`.security.check_binding`)."""
    token = resolve_token(token)
    check_binding(host, token)
    with _signal_handlers_kept():
        if not ray.is_initialized() and address:
            ray.init(address=address)
        elif not ray.is_initialized():
            ray.init(address="local", include_dashboard=False, _metrics_export_port=metrics_port)
    serve.start(http_options={"host": host, "port": port})
    args = {
        "model": model,
        "replicas": replicas,
        "gpus_per_replica": gpus_per_replica,
        "cpus_per_replica": cpus_per_replica,
        "limits": limits,
        "token": token,
        "require_token": not is_loopback(host),
        "redis": redis,
    }
    serve.run(build_app(args), name=APP_NAME, route_prefix="/", blocking=blocking)


def stop_service(*, joined: bool = False) -> None:
    """Shut Serve and Ray down; on a cluster this process ``joined``, remove the application only and
    disconnect."""
    try:
        if joined:
            serve.delete(APP_NAME)
        else:
            serve.shutdown()
    finally:
        ray.shutdown()


def run_service(
    model: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    replicas: int = 1,
    gpus_per_replica: float = 0,
    address: str | None = None,
    token: str | None = None,
    redis: str | None = None,
    limits: ServiceLimits | None = None,
    metrics_port: int | None = None,
) -> None:
    """Serve ``model`` (:func:`start_service`) until interrupted (Ctrl-C, or a stop signal turned into an
    exception), then :func:`stop_service`."""
    try:
        start_service(
            model,
            host=host,
            port=port,
            replicas=replicas,
            gpus_per_replica=gpus_per_replica,
            address=address,
            token=token,
            redis=redis,
            limits=limits,
            metrics_port=metrics_port,
            blocking=True,
        )
    finally:
        stop_service(joined=address is not None)
