"""What a URL that a platform gives us must look like before the tool stores, redirects to or fetches it.

Platform URLs (issuer, authorization, token, JWKS, registration endpoints, deep-linking return) come from
outside: a ``javascript:`` authorization endpoint would run script on the tool's origin, and a registration
endpoint on a private address would make the tool probe the operator's own network. Outside development
mode every such URL is ``https://`` with a public host name; development mode (``make run``, the tests'
local platforms) also allows ``http://`` and loopback or private hosts.

``check_platform_url`` is the cheap syntactic check, made wherever a stored URL is used;
``check_public_host`` resolves the host and refuses private, loopback and link-local addresses, for the
server-side fetches that an anonymous-looking request can trigger (Dynamic Registration).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_FORBIDDEN_CHARACTERS = set(" \t\r\n\\<>\"'`{}|^") | {chr(c) for c in range(0x20)} | {"\x7f"}


class UnsafeUrl(ValueError):
    """A platform URL the tool will not store, redirect to or fetch; the message names the field."""


def check_platform_url(url: object, field: str, *, development: bool) -> str:
    """``url`` if it is an absolute https:// URL with a host (http:// too in development), else UnsafeUrl."""
    if not isinstance(url, str) or not url:
        raise UnsafeUrl(f"{field} is missing.")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"{field} is longer than {MAX_URL_LENGTH} characters.")
    if any(ch in _FORBIDDEN_CHARACTERS for ch in url):
        raise UnsafeUrl(f"{field} contains characters a URL may not contain.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"{field} is not a valid URL.") from exc
    schemes = ("https", "http") if development else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeUrl(f"{field} must be an https:// URL (got {parts.scheme or 'no'} scheme).")
    host = parts.hostname
    if not host:
        raise UnsafeUrl(f"{field} has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(f"{field} may not carry a user name or password.")
    if port == 0:
        raise UnsafeUrl(f"{field} has an invalid port.")
    if not development and _is_local_name(host):
        raise UnsafeUrl(f"{field} points at this machine or a private network ({host}).")
    return url


def _is_local_name(host: str) -> bool:
    """Host names and literal addresses that are never a platform on the internet."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        return not _is_public(ipaddress.ip_address(name))
    except ValueError:
        return "." not in name  # a bare intranet name such as "moodle"


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_public_host(url: str, field: str, *, development: bool) -> None:
    """Resolve the URL's host; every address it resolves to must be public (outside development).

    The fetch that follows resolves again; a host that answers public here and private there (DNS
    rebinding) is the residual risk, narrowed by fetching without redirects and with small size caps."""
    if development:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"{field}: the host {host} could not be resolved.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not _is_public(address):
            raise UnsafeUrl(f"{field} points at this machine or a private network ({host}).")


def same_host(url: str, other: str) -> bool:
    """Both URLs name the same host (scheme and port aside)."""
    a, b = urlsplit(url).hostname, urlsplit(other).hostname
    return a is not None and a == b
