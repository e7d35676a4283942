"""The per tenant-and-client rate limit: a token bucket, in this process or shared in Redis.

Both limiters implement GCRA (the generic cell rate algorithm), a token bucket kept as one
number per key: the theoretical arrival time (TAT) of the next request. A client may send
``burst`` requests at once and then ``rate`` per second; a request that comes too early is
refused with the seconds to wait, and refused requests do not count.

The Redis limiter is a circuit breaker around Redis: after a failure (an error, or no answer
within :data:`REDIS_TIMEOUT_SECONDS`) it limits with this process's own buckets for a cool-down,
then lets one request try Redis again. An unreachable or hung Redis thus never takes the API
down, and costs one request its timeout per cool-down rather than every request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

from flowruns.settings import Settings

log = logging.getLogger("flowruns.ratelimit")

# Buckets kept in memory before the full ones are forgotten (a full bucket is the default).
_MAX_KEYS = 100_000
# The longest a request waits for Redis to connect, and then to answer.
REDIS_TIMEOUT_SECONDS = 1.0

# KEYS[1]: the bucket; ARGV: interval and burst in ms. Redis's clock, so every server agrees.
_GCRA = """
local now_s = redis.call('TIME')
local now = tonumber(now_s[1]) * 1000 + math.floor(tonumber(now_s[2]) / 1000)
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - capacity - now
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil(next_tat - now) + 1000)
return 0
"""


class RateLimiter(Protocol):
    async def wait_seconds(self, key: str) -> float:
        """0 when a request for ``key`` may go ahead (and is counted), else how long to wait."""
        ...

    async def close(self) -> None: ...


class LocalRateLimiter:
    """Buckets in this process's memory: the default, one limit per server process."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.capacity = burst * self.interval
        self._tat: dict[str, float] = {}

    async def wait_seconds(self, key: str) -> float:
        now = time.monotonic()
        tat = max(self._tat.get(key, now), now)
        next_tat = tat + self.interval
        wait = next_tat - self.capacity - now
        if wait > 0:
            return wait
        if len(self._tat) >= _MAX_KEYS:
            self._tat = {k: t for k, t in self._tat.items() if t > now}
        self._tat[key] = next_tat
        return 0.0

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """Buckets in Redis, so every server process sharing it shares one limit; this process's
    own buckets for ``cooldown`` seconds after Redis fails (``clock`` tells the time)."""

    def __init__(
        self,
        url: str,
        prefix: str,
        rate: float,
        burst: int,
        *,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.prefix = prefix
        self.interval_ms = 1000.0 / rate
        self.capacity_ms = burst * self.interval_ms
        self.script = self.client.register_script(_GCRA)
        self.fallback = LocalRateLimiter(rate, burst)
        self.cooldown = cooldown
        self.clock = clock
        # While Redis is failing: when the next request may try it again.
        self._retry_at: float | None = None
        self._trying = False  # a request is trying Redis after a cool-down

    async def wait_seconds(self, key: str) -> float:
        if self._retry_at is not None and (self._trying or self.clock() < self._retry_at):
            return await self.fallback.wait_seconds(key)
        # The event loop runs one request at a time up to the await: only one of those that
        # arrive after a cool-down tries Redis; the others keep to this process's buckets.
        trying = self._retry_at is not None
        if trying:
            self._trying = True
        try:
            wait_ms = await self.script(
                keys=[self.prefix + key], args=[self.interval_ms, self.capacity_ms]
            )
        except RedisError as error:
            self._failed(error)
            return await self.fallback.wait_seconds(key)
        finally:
            if trying:
                self._trying = False
        if self._retry_at is not None:
            self._retry_at = None
            log.info("Redis answers again: the shared rate limit applies again")
        return float(wait_ms) / 1000.0

    def _failed(self, error: RedisError) -> None:
        if self._retry_at is None:  # once per outage, not once per request
            log.warning(
                "Redis failed (%s): each server process limits requests on its own, "
                "trying Redis again every %g seconds",
                error,
                self.cooldown,
            )
        self._retry_at = self.clock() + self.cooldown

    async def close(self) -> None:
        await self.client.aclose()


def rate_limiter(settings: Settings) -> RateLimiter | None:
    """The limiter ``settings`` ask for; None when the limit is off (a rate of 0)."""
    rate, burst = settings.rate_limit_per_second, max(1, settings.rate_limit_burst)
    if rate <= 0:
        return None
    if settings.redis_url:
        return RedisRateLimiter(
            settings.redis_url,
            settings.redis_prefix,
            rate,
            burst,
            cooldown=settings.redis_cooldown_seconds,
        )
    return LocalRateLimiter(rate, burst)


def retry_after(wait_seconds: float) -> str:
    """The ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))
