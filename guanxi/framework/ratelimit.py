"""A per-client-IP counter in Django's cache, for the pages anyone may post to (public web forms, the
customer's ticket status page): `over_limit(request, "scope", limit, window)` counts one request and says
whether the client went over `limit` requests in the `window` (seconds) that began with its first one.

The IP is hashed in the key (no addresses in the cache). REMOTE_ADDR is taken as it comes: behind a proxy
the deployment sets it from the trusted X-Forwarded-For hop, as for every other view.
"""

import hashlib

from django.core.cache import cache


def client_ip(request):
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(request, scope, limit, window):
    """Count this request against the client's IP in `scope`; True once it exceeds `limit` in `window`."""
    key = f"guanxi:{scope}:" + hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit
