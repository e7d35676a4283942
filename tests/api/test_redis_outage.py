"""The shared rate limit when Redis fails: a circuit breaker.

After a failure the limiter uses this process's own buckets for a cool-down, then tries Redis
again with one request. A hung Redis (it accepts connections and never answers) therefore costs
one request its timeout per cool-down, not every request. The tests count the connections that
reach a fake Redis rather than timing requests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.api.ratelimit import RedisRateLimiter
from flowruns.settings import InvalidSetting, Settings
from tests.conftest import HUB, SECRET_KEY, bearer
from tests.proxy import TcpProxy

REDIS = ("127.0.0.1", 6379)


class HungRedis:
    """A server that accepts every connection and never answers: a hung Redis."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(connection)  # read nothing, answer nothing

    def close(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def hung_redis() -> Iterator[HungRedis]:
    server = HungRedis()
    yield server
    server.close()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "flowruns.ratelimit" and record.levelno >= logging.WARNING
    ]


def test_a_hung_redis_delays_one_request_not_every_one(
    hung_redis: HungRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET_KEY, redis_url=hung_redis.url)
    settings.rate_limit_per_second, settings.rate_limit_burst = 0.01, 5
    caplog.set_level(logging.INFO, "flowruns.ratelimit")
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        statuses = [client.get(f"{HUB}/runs").status_code for _ in range(10)]
    # Only the first request waited for Redis; the rest were limited by this process alone.
    assert hung_redis.connections == 1
    assert statuses == [200] * 5 + [429] * 5
    assert len(_warnings(caplog)) == 1
    assert "Redis" in _warnings(caplog)[0]


def test_after_the_cool_down_one_request_tries_redis_again(
    hung_redis: HungRedis, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    limiter = RedisRateLimiter(hung_redis.url, "p:", 1000, 1000, cooldown=30, clock=clock)

    async def requests(count: int) -> list[float]:
        return list(await asyncio.gather(*(limiter.wait_seconds("k") for _ in range(count))))

    async def scenario() -> None:
        assert await requests(1) == [0.0]
        assert hung_redis.connections == 1
        clock.now += 29
        await requests(10)
        assert hung_redis.connections == 1  # still cooling down
        clock.now += 2
        # Ten at once after the cool-down: one of them tries Redis, the others do not wait.
        await requests(10)
        assert hung_redis.connections == 2
        await requests(10)
        assert hung_redis.connections == 2  # the failed try started a new cool-down
        await limiter.close()

    caplog.set_level(logging.INFO, "flowruns.ratelimit")
    asyncio.run(scenario())
    assert len(_warnings(caplog)) == 1


def test_the_shared_limit_applies_again_once_redis_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    prefix = f"flowruns-test-{uuid.uuid4().hex}:"
    with TcpProxy(REDIS) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/0"
        limiter = RedisRateLimiter(url, prefix, 0.001, 2, cooldown=30, clock=clock)
        other = RedisRateLimiter(f"redis://{REDIS[0]}:{REDIS[1]}/0", prefix, 0.001, 2, cooldown=30)

        async def scenario() -> None:
            proxy.cut()
            assert await limiter.wait_seconds("k") == 0.0  # Redis refused: this process alone
            proxy.restore()
            clock.now += 31
            # Back on Redis: the bucket is the one every server shares.
            assert await limiter.wait_seconds("k") == 0.0
            assert await other.wait_seconds("k") == 0.0
            assert await limiter.wait_seconds("k") > 0
            await limiter.close()
            await other.close()

        caplog.set_level(logging.INFO, "flowruns.ratelimit")
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "flowruns.ratelimit"]
    assert len(messages) == 2, messages  # one when Redis failed, one when it answered again


def test_the_cool_down_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRUNS_REDIS_COOLDOWN", "5.5")
    assert Settings.from_env().redis_cooldown_seconds == 5.5
    for wrong in ("soon", "-1", "inf"):
        monkeypatch.setenv("FLOWRUNS_REDIS_COOLDOWN", wrong)
        with pytest.raises(InvalidSetting, match="FLOWRUNS_REDIS_COOLDOWN"):
            Settings.from_env()
