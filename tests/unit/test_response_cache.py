"""ResponseCache: the memory tier's byte bound, Redis shared by two replicas, and Redis going away."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator

import pytest
import redis

from deepseek_viz.serve.cache import KEY_PREFIX, ResponseCache, cache_key
from tests.redis_server import RedisServer, free_port

BACK_OFF = 0.2


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    connection = server.client()
    connection.flushdb()
    yield connection
    connection.close()


def make_cache(max_bytes: int, url: str | None = None, retry_seconds: float = BACK_OFF) -> ResponseCache:
    return ResponseCache(max_bytes, url, retry_seconds=retry_seconds)


def test_cache_key_names_revision_call_and_message() -> None:
    key = cache_key("tiny@abc", "trace", b"message")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == cache_key("tiny@abc", "trace", b"message")
    others = {
        cache_key("tiny@abd", "trace", b"message"),
        cache_key("tiny@abc", "tokenize", b"message"),
        cache_key("tiny@abc", "trace", b"messagf"),
        # the parts are length-prefixed: moving bytes from one part to the next changes the key
        cache_key("tiny@ab", "ctrace", b"message"),
        cache_key("tiny@abc", "trac", b"emessage"),
    }
    assert key not in others and len(others) == 5


def test_memory_tier_is_a_byte_bounded_lru() -> None:
    cache = make_cache(800)
    for index in range(8):
        cache.put(f"k{index}", bytes([index]) * 100)
    assert cache.stats()["memory"]["bytes"] == 800
    assert cache.get("k0") == bytes([0]) * 100  # k0 is now the most recently used
    cache.put("k8", b"\x08" * 100)
    assert cache.get("k1") is None  # the least recently used went
    assert cache.get("k0") == bytes([0]) * 100
    memory = cache.stats()["memory"]
    assert memory["bytes"] == 800 and memory["entries"] == 8
    assert (memory["hits"], memory["misses"]) == (2, 1)


def test_replacing_an_entry_counts_its_bytes_once() -> None:
    cache = make_cache(800)
    cache.put("k", b"a" * 100)
    cache.put("k", b"b" * 50)
    assert cache.get("k") == b"b" * 50
    assert cache.stats()["memory"]["bytes"] == 50


def test_an_entry_over_an_eighth_of_the_bound_is_stored_nowhere(
    server: RedisServer, client: redis.Redis
) -> None:
    cache = make_cache(800, server.url)
    cache.put("big", b"x" * 101)
    cache.put("fits", b"x" * 100)
    assert cache.get("big") is None
    assert cache.get("fits") == b"x" * 100
    assert client.exists(KEY_PREFIX + "big") == 0
    assert client.exists(KEY_PREFIX + "fits") == 1


def test_max_bytes_zero_turns_the_cache_off(server: RedisServer, client: redis.Redis) -> None:
    cache = make_cache(0, server.url)
    cache.put("k", b"")
    assert cache.get("k") is None
    assert client.dbsize() == 0
    stats = cache.stats()
    assert stats["redis"]["state"] == "off"
    assert stats["memory"]["hits"] == stats["memory"]["misses"] == 0


def test_a_put_by_one_replica_is_a_redis_hit_for_another(server: RedisServer, client: redis.Redis) -> None:
    first, second = make_cache(1 << 20, server.url), make_cache(1 << 20, server.url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert second.get("k") is None
        first.put("k", b"answer")
        assert second.get("k") == b"answer"
        assert second.get("k") == b"answer"  # now from its own memory
    stats = second.stats()
    assert stats["redis"] == {"hits": 1, "misses": 1, "errors": 0, "state": "up"}
    assert (stats["memory"]["hits"], stats["memory"]["misses"]) == (1, 2)
    assert client.get(KEY_PREFIX + "k") == b"answer"


def test_on_lookup_hears_each_tier_asked(server: RedisServer, client: redis.Redis) -> None:
    heard: list[tuple[str, bool]] = []
    first = make_cache(1 << 20, server.url)
    second = ResponseCache(1 << 20, server.url, on_lookup=lambda tier, hit: heard.append((tier, hit)))
    second.get("k")
    first.put("k", b"answer")
    second.get("k")
    second.get("k")
    assert heard == [
        ("memory", False),
        ("redis", False),
        ("memory", False),
        ("redis", True),
        ("memory", True),
    ]


def test_redis_entries_expire(server: RedisServer, client: redis.Redis) -> None:
    cache = ResponseCache(1 << 20, server.url, ttl_seconds=120)
    cache.put("k", b"answer")
    assert 0 < client.ttl(KEY_PREFIX + "k") <= 120


def test_redis_down_at_start_warns_and_serves_from_memory() -> None:
    url = f"redis://:secret-password@127.0.0.1:{free_port()}/0"
    with pytest.warns(RuntimeWarning, match="in-process cache alone") as caught:
        cache = make_cache(1 << 20, url, retry_seconds=60)
        cache.put("k", b"answer")
        assert cache.get("k") == b"answer"
        assert cache.get("other") is None
    assert len(caught) == 1
    assert "secret-password" not in str(caught[0].message)
    assert cache.stats()["redis"]["state"] == "down"


def test_redis_killed_then_back() -> None:
    with RedisServer() as server:
        first, second = make_cache(1 << 20, server.url), make_cache(1 << 20, server.url)
        first.put("before", b"1")
        server.kill()
        with pytest.warns(RuntimeWarning, match="in-process cache alone") as caught:
            for _ in range(3):  # each round after a back-off, so Redis is probed (and fails) again
                first.put("during", b"2")
                assert first.get("during") == b"2"
                assert first.get("before") == b"1"
                assert first.get("missing") is None
                time.sleep(BACK_OFF * 1.5)
        assert len(caught) == 1
        assert first.stats()["redis"]["errors"] >= 3  # probed again after each back-off
        assert first.stats()["redis"]["state"] == "down"

        server.start()
        time.sleep(BACK_OFF * 1.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            first.put("after", b"3")
            assert second.get("after") == b"3"
        assert first.stats()["redis"]["state"] == "up"
        assert second.stats()["redis"]["hits"] == 1


def test_bad_arguments_are_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="not a Redis URL"):
        ResponseCache(1024, "http://127.0.0.1:1")
    with pytest.raises(ValueError, match="max_bytes"):
        ResponseCache(-1)
    with pytest.raises(ValueError, match="ttl_seconds"):
        ResponseCache(1024, ttl_seconds=0)


def test_many_threads_keep_the_byte_count_true() -> None:
    cache = make_cache(4096)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for step in range(200):
                key = f"k{(worker * 7 + step) % 64}"
                cache.put(key, bytes([step % 256]) * (1 + step % 500))
                cache.get(key)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    held = [cache.get(f"k{index}") for index in range(64)]
    memory = cache.stats()["memory"]
    assert memory["bytes"] == sum(len(value) for value in held if value is not None) <= 4096
    assert memory["entries"] == sum(value is not None for value in held)
    assert memory["hits"] + memory["misses"] == 8 * 200 + 64
