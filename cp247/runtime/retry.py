"""When to try a failed delivery again: one back-off for every channel that retries (provider
webhooks, e-mail), each with its own first delay."""

from __future__ import annotations

import random


def backoff(
    attempt: int,
    base: float = 2.0,
    cap: float = 3600.0,
    jitter: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one.

    ``min(cap, base * 2 ** (attempt - 1))``: 2, 4, 8, ... 2048, then 3600. Deterministic by
    default. ``jitter`` (0..1) scales the delay down by a random factor in ``[1 - jitter, 1]``
    so that many deliveries failing in the same outage do not all come back in the same second;
    it only ever shortens, so ``cap`` stays an upper bound.
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter is a fraction between 0 and 1")
    # Past 2**64 the cap has long won; stopping the exponent there avoids float overflow.
    delay = cap if attempt > 64 else min(cap, base * 2.0 ** (attempt - 1))
    if jitter:
        delay *= 1.0 - jitter * (rng or random).random()
    return delay
