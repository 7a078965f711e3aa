"""A small fixed-window rate limiter on Django's cache (shared by all processes when CACHES
points at a shared cache such as Redis; per process with the default local-memory cache)."""

import hashlib

from django.core.cache import cache


def ratelimit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``(scope, key)``; return ``False`` when it is over ``limit`` in the window."""
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"learning:rl:{scope}:{digest}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit
