"""The model service's response cache: an in-process LRU bounded in bytes, and Redis when given a URL.

Replicas each hold their own memory tier and share the Redis tier, so a response one replica computed
is a hit for the others. Redis is an optimisation, never a dependency: when it is unreachable or fails,
the cache warns once, serves from memory alone, and tries Redis again after a back-off. Keys name the
model revision, the call and the whole request message (:func:`cache_key`), so one user's text can only
ever be the answer to that same request.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

#: Every key this package writes to Redis starts with this.
KEY_PREFIX = "dsv:"
#: Seconds a socket to Redis may wait, so a dead Redis never stalls a request.
SOCKET_TIMEOUT = 0.5
_LENGTH = struct.Struct("<Q")


def cache_key(revision: str, call: str, message: bytes) -> str:
    """The cache key of one request: sha256 hex of the model revision, the call and the message bytes.

    Each part is length-prefixed, so no two different requests share a key.
    """
    digest = hashlib.sha256()
    for part in (revision.encode(), call.encode(), message):
        digest.update(_LENGTH.pack(len(part)))
        digest.update(part)
    return digest.hexdigest()


class ResponseCache:
    """Encoded responses by key: a byte-bounded LRU in this process, plus Redis when ``redis_url`` is given.

    ``max_bytes`` bounds the memory tier; an entry larger than ``max_bytes // 8`` is stored in neither
    tier, and ``max_bytes=0`` turns the cache off. Redis entries expire after ``ttl_seconds``; Redis's
    own ``maxmemory`` bounds that tier. After a Redis failure the cache waits ``retry_seconds`` before
    using Redis again. ``on_lookup(tier, hit)``, when given, is called for each tier a ``get`` asks
    (``"memory"``, then ``"redis"`` after a memory miss), for counting metrics as they happen; it must
    not raise. Safe to call from many threads.
    """

    def __init__(
        self,
        max_bytes: int,
        redis_url: str | None = None,
        ttl_seconds: int = 3600,
        *,
        retry_seconds: float = 30.0,
        on_lookup: Callable[[str, bool], None] | None = None,
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be 0 (no cache) or more, not {max_bytes}")
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.retry_seconds = retry_seconds
        self._on_lookup = on_lookup
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._hits = {"memory": 0, "redis": 0}
        self._misses = {"memory": 0, "redis": 0}
        self._redis_errors = 0
        self._redis_url = redis_url
        self._redis: redis.Redis | None = None
        self._redis_down_until: float | None = None
        if redis_url and max_bytes:
            try:
                self._redis = redis.Redis.from_url(
                    redis_url,
                    socket_timeout=SOCKET_TIMEOUT,
                    socket_connect_timeout=SOCKET_TIMEOUT,
                    retry=Retry(NoBackoff(), 0),  # the back-off below is the only retry
                )
            except ValueError as error:
                raise ValueError(f"not a Redis URL: {redis_url!r} ({error})") from None
            self._redis_call(lambda client: client.ping())

    @property
    def max_entry_bytes(self) -> int:
        """The largest value either tier stores."""
        return self.max_bytes // 8

    def get(self, key: str) -> bytes | None:
        """The value stored for ``key``, from memory or else from Redis; None when neither has it."""
        if not self.max_bytes:
            return None
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
        self._count("memory", value is not None)
        if value is not None or not self._redis_ready():
            return value
        answered, found = self._redis_call(lambda client: client.get(KEY_PREFIX + key))
        if not answered:
            return None
        value = found if isinstance(found, bytes) else None
        if value is not None and len(value) <= self.max_entry_bytes:
            with self._lock:
                self._remember(key, value)
        self._count("redis", value is not None)
        return value

    def put(self, key: str, value: bytes) -> None:
        """Store ``value`` for ``key`` in memory and in Redis (with the TTL), unless it is too large."""
        if not self.max_bytes or len(value) > self.max_entry_bytes:
            return
        with self._lock:
            self._remember(key, value)
        if self._redis_ready():
            self._redis_call(lambda client: client.set(KEY_PREFIX + key, value, ex=self.ttl_seconds))

    def stats(self) -> dict[str, Any]:
        """Counts for the metrics: hits and misses per tier, the bytes and entries held in memory.

        ``{"memory": {"hits", "misses", "bytes", "entries", "max_bytes"},
        "redis": {"hits", "misses", "errors", "state"}}``, where ``state`` is ``"off"`` (no URL, or no cache),
        ``"up"`` or ``"down"`` (in the back-off after a failure).
        """
        with self._lock:
            if self._redis is None:
                state = "off"
            elif self._redis_down_until is None:
                state = "up"
            else:
                state = "down"
            return {
                "memory": {
                    "hits": self._hits["memory"],
                    "misses": self._misses["memory"],
                    "bytes": self._bytes,
                    "entries": len(self._entries),
                    "max_bytes": self.max_bytes,
                },
                "redis": {
                    "hits": self._hits["redis"],
                    "misses": self._misses["redis"],
                    "errors": self._redis_errors,
                    "state": state,
                },
            }

    def close(self) -> None:
        """Close the connections to Redis (the memory tier stays usable)."""
        if self._redis is not None:
            self._redis.close()

    def _count(self, tier: str, hit: bool) -> None:
        """Count one lookup in ``tier``, and tell ``on_lookup`` (outside the lock)."""
        with self._lock:
            (self._hits if hit else self._misses)[tier] += 1
        if self._on_lookup is not None:
            self._on_lookup(tier, hit)

    def _remember(self, key: str, value: bytes) -> None:
        """Put ``value`` in the memory tier, evicting the least recently used. Call with the lock held."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._entries[key] = value
        self._bytes += len(value)
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def _redis_ready(self) -> bool:
        """Whether to use Redis now: configured and up, or this caller is the one to probe it again.

        When the back-off after a failure has run out, the first caller gets True and pushes the
        back-off on, so one request (not every request at once) pays for probing a Redis still down.
        """
        if self._redis is None:
            return False
        with self._lock:
            if self._redis_down_until is None:
                return True
            now = time.monotonic()
            if now < self._redis_down_until:
                return False
            self._redis_down_until = now + self.retry_seconds
            return True

    def _redis_call(self, action: Callable[[redis.Redis], Any]) -> tuple[bool, Any]:
        """``(True, action(client))``, or ``(False, None)`` on a Redis failure (warned once per outage)."""
        assert self._redis is not None
        try:
            result = action(self._redis)
        except (redis.RedisError, OSError) as error:
            with self._lock:
                self._redis_errors += 1
                first = self._redis_down_until is None
                self._redis_down_until = time.monotonic() + self.retry_seconds
            if first:
                warnings.warn(
                    f"the Redis cache at {_without_password(self._redis_url)} failed "
                    f"({type(error).__name__}: {error}); using the in-process cache alone, "
                    f"trying Redis again every {self.retry_seconds:g} s",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return False, None
        with self._lock:
            self._redis_down_until = None
        return True, result


def _without_password(url: str | None) -> str:
    """``url`` with any user name and password left out, for messages."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
