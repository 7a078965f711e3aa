"""Where a request comes from and where the site lives: the two request helpers every app uses.

``client_ip`` is the one place that decides a client's address (log-in lockout, audit entries,
consents, rate limits). Behind a reverse proxy every request comes from the proxy, so the
address the proxy saw is read from ``X-Forwarded-For``, but only when the request really comes
from a proxy listed in ``PORTAL_TRUSTED_PROXIES`` (addresses or networks); from anywhere else the
header is the client's own word and is ignored.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in trusted if item.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or ``None`` when there is no valid one.

    From a trusted proxy: the right-most address of ``X-Forwarded-For`` that is not itself a
    trusted proxy (each proxy appends the address it saw, so addresses further left are the
    client's own claims). Otherwise ``REMOTE_ADDR``.
    """
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    networks = _networks(tuple(getattr(settings, "PORTAL_TRUSTED_PROXIES", ()) or ()))
    if _trusted(remote, networks):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for item in reversed([part for part in forwarded.split(",") if part.strip()]):
            address = _address(item)
            if address is None:
                break  # a malformed hop: trust nothing further left
            if not _trusted(address, networks):
                return str(address)
    return str(remote) if remote is not None else None


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the request came through a proxy listed in ``PORTAL_TRUSTED_PROXIES`` (so the
    headers that proxy sets, e.g. ``X-Portal-Refused-Length``, are its own and not the client's)."""
    networks = _networks(tuple(getattr(settings, "PORTAL_TRUSTED_PROXIES", ()) or ()))
    return _trusted(_address(request.META.get("REMOTE_ADDR") or ""), networks)


def client_ip_for_axes(request: HttpRequest) -> str:
    """``AXES_CLIENT_IP_CALLABLE``: the same address for the log-in lockout ("" when none)."""
    return client_ip(request) or ""


def site_url(path: str) -> str:
    """The absolute URL of ``path`` on the public site (links in SMS, e-mail, QR codes, PDFs)."""
    return settings.PORTAL_SITE_URL.rstrip("/") + path
