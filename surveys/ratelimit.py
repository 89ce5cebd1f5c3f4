"""Fixed-window rate limits in the shared cache (the database cache across app servers)."""

from __future__ import annotations

import time

from django.core.cache import cache

GUESS_LIMIT = 10  # tries per minute per address: opening links, typing access codes
GUESS_WINDOW = 60


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(request, scope: str, *, limit: int = GUESS_LIMIT, window: int = GUESS_WINDOW) -> bool:
    """Count one try; False when the address is over the limit for this window."""
    bucket = int(time.time() // window)
    key = f"surveys:rl:{scope}:{client_address(request)}:{bucket}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return count <= limit
