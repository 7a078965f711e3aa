"""A small fixed-window rate limiter and a per-key cool-down on Django's cache (shared by all
processes when CACHES points at a shared cache such as Redis; per process with the default
local-memory cache).

``ratelimit_hit`` refuses once a key is over its limit for the rest of the window; a cool-down
(``cooldown_claim`` / ``cooldown_start``) only spaces attempts out: one turn per so many seconds.
Use the second for keys an attacker can name but does not own (a certificate number, an account),
so that the limit slows guessing down without locking the owner out.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def _cache_key(scope: str, key: str, kind: str = "rl") -> str:
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    return f"portal:{kind}:{scope}:{digest}"


def ratelimit_setting(name: str, default: tuple[int, int]) -> tuple[int, int]:
    """A ``(limit, window_seconds)`` pair from the settings, ``default`` when it is not set."""
    limit, window = getattr(settings, name, default)
    return int(limit), int(window)


def ratelimit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``(scope, key)``; return ``False`` when it is over ``limit`` in the window."""
    cache_key = _cache_key(scope, key)
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def ratelimit_count(*, scope: str, key: str) -> int:
    """How many attempts :func:`ratelimit_hit` has counted for ``(scope, key)`` in the current
    window, without counting one more."""
    return int(cache.get(_cache_key(scope, key)) or 0)


def ratelimit_reset(*, scope: str, key: str) -> None:
    """Forget the attempts counted for ``(scope, key)``."""
    cache.delete(_cache_key(scope, key))


def cooldown_claim(*, scope: str, key: str, seconds: int) -> int:
    """Take the one turn of ``(scope, key)`` for the next ``seconds``: ``0`` when this caller got it,
    otherwise how many seconds are left until the next turn (at least 1).

    A slow-down rather than a block: whoever asks after the turn has passed gets the next one, so
    nobody can hold a key for longer than ``seconds`` at a time.
    """
    cache_key = _cache_key(scope, key, "turn")
    deadline = time.time() + seconds
    if cache.add(cache_key, deadline, timeout=seconds):
        return 0
    current = cache.get(cache_key)
    if current is None:  # expired in between: try once more
        return 0 if cache.add(cache_key, deadline, timeout=seconds) else 1
    return max(1, math.ceil(float(current) - time.time()))


def cooldown_start(*, scope: str, key: str, seconds: int) -> None:
    """Make the next turn of ``(scope, key)`` wait ``seconds`` from now (replacing any wait)."""
    cache.set(_cache_key(scope, key, "turn"), time.time() + seconds, timeout=seconds)


def cooldown_reset(*, scope: str, key: str) -> None:
    cache.delete(_cache_key(scope, key, "turn"))
