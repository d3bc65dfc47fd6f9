"""Sending one webhook: the SSRF guard and a POST to the address that was checked.

The URL's host is resolved at every delivery; if any address is private, loopback, link-local,
multicast, reserved or unspecified (IPv4-mapped IPv6 included) nothing is sent, unless
WEBHOOKS_ALLOW_PRIVATE is on. The connection goes to the address that was checked (so a DNS
answer that changes between the check and the connect cannot redirect it; TLS still verifies the
host's certificate by name), redirects are never followed (http.client does not), every socket
operation times out after WEBHOOKS_TIMEOUT_SECONDS and at most RESPONSE_CAP bytes of the answer
are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

RESPONSE_CAP = 4096


class UnsafeAddress(Exception):
    """The URL may not be called (bad scheme, unresolvable, or a private address)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def target_check(url: str) -> Target:
    """The URL's target, resolved now; UnsafeAddress when it may not be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("Only http and https URLs with a host can receive webhooks.")
    if parts.username or parts.password:
        raise UnsafeAddress("Credentials in the URL are not allowed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeAddress("The URL's port is not valid.") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeAddress(f"{parts.hostname} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            if _forbidden(address):
                raise UnsafeAddress(
                    f"{parts.hostname} resolves to {address}: private, loopback, link-local and "
                    "multicast addresses cannot receive webhooks."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to the checked address; the answer's status (its body is read up to the cap
    and dropped). OSError / http.client.HTTPException on a network failure or timeout."""
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    connection: http.client.HTTPConnection = (
        _PinnedHTTPS(target, timeout) if target.scheme == "https" else _PinnedHTTP(target, timeout)
    )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(RESPONSE_CAP)
        return response.status
    finally:
        connection.close()
