"""When to send a request again: on 429 and 503, and when no answer came back.

A 429 or 503 means the server did nothing (it says so in ``Retry-After``), so any request may be
sent again. A request that got no answer may or may not have been applied; it is only resent
when sending it twice is harmless — every request but a ``POST``, and a ``POST`` that carries an
``Idempotency-Key`` (every create the SDK sends does) — or when the connection was never made.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from flowruns.client.errors import GraphAPIError

RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and for how long in total, a request is tried.

    ``attempts`` counts the first try; ``budget`` bounds the seconds spent waiting between tries
    (a ``Retry-After`` longer than what is left of it ends the retries at once, and the error is
    raised); without ``Retry-After`` the waits grow from ``backoff`` and double up to
    ``max_backoff``, with jitter so that many clients do not retry in step.
    """

    attempts: int = 5
    budget: float = 30.0
    backoff: float = 0.5
    max_backoff: float = 8.0

    def delay(self, attempt: int, retry_after: float | None, waited: float) -> float | None:
        """Seconds to wait before try ``attempt + 1``, or None to stop trying."""
        if attempt >= self.attempts:
            return None
        if retry_after is None:
            ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            wait = random.uniform(ceiling / 2, ceiling)
        else:
            wait = retry_after
        if waited + wait > self.budget:
            return None
        return wait


#: One try only: for callers that do their own retrying (the run recorder).
NO_RETRY = RetryPolicy(attempts=1)


def delay_after_error(
    policy: RetryPolicy, attempt: int, waited: float, error: GraphAPIError
) -> float | None:
    """Seconds before trying again after an error response, or None to raise it."""
    if error.status not in RETRY_STATUSES:
        return None
    return policy.delay(attempt, error.retry_after, waited)


def delay_after_no_answer(
    policy: RetryPolicy, attempt: int, waited: float, error: httpx.TransportError, replayable: bool
) -> float | None:
    """Seconds before trying again after no answer came, or None to give up."""
    never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    if not (never_sent or replayable):
        return None
    return policy.delay(attempt, None, waited)
