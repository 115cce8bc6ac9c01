"""Who may reach devserver's own endpoints: the DNS-rebinding and cross-origin checks.

After the Vite and webpack-dev-server advisories: a page on another origin can make the browser
send requests to 127.0.0.1 under its own host name (DNS rebinding), or open a WebSocket to it.
So ``/__routes*``, ``/__devserver/*`` and the WebSocket answer only a ``Host`` that is the bound
address or a loopback name, and the WebSocket only a same-origin ``Origin`` (DESIGN §6).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .config import is_loopback

__all__ = ["host_allowed", "origin_allowed", "split_host"]


def split_host(value: str) -> str:
    """The host part of a ``Host`` header value: ``[::1]:3333`` -> ``::1``, ``a:80`` -> ``a``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def host_allowed(host_header: str | None, bound_host: str) -> bool:
    """True when ``Host`` names this machine: a loopback name or address, or the bound address."""
    if not host_header:
        return False
    host = split_host(host_header)
    if not host:
        return False
    return is_loopback(host) or host == split_host(bound_host)


def origin_allowed(origin: str | None, host_header: str | None, bound_host: str) -> bool:
    """A WebSocket ``Origin`` must be this server itself (or absent, as from a non-browser tool)."""
    if origin is None:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if host_header is None or parts.netloc.lower() != host_header.strip().lower():
        return False
    return host_allowed(parts.netloc, bound_host)
