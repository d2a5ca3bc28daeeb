"""The platform URL policy: https:// and public hosts, with http:// and local hosts only in development."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lti_tool.url_policy import UnsafeUrl, check_platform_url, check_public_host, same_host


@pytest.mark.parametrize(
    "url",
    [
        "https://moodle.example.edu",
        "https://moodle.example.edu/mod/lti/auth.php?x=1",
        "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "https://lms.example.edu:8443/auth",
    ],
)
def test_https_public_urls_pass_everywhere(url: str) -> None:
    assert check_platform_url(url, "f", development=False) == url
    assert check_platform_url(url, "f", development=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "ftp://lms.example.edu/x",
        "//lms.example.edu/auth",
        "https://",
        "https:///path",
        "https://user:pw@lms.example.edu/auth",
        "https://lms.example.edu/a b",
        "https://lms.example.edu/\nLocation: x",
        'https://lms.example.edu/"onmouseover="x',
        "https://lms.example.edu:99999/",
        "https://[::1/",
        "",
        None,
        42,
        "https://lms.example.edu/" + "a" * 3000,
    ],
)
def test_unsafe_urls_are_refused_even_in_development(url: Any) -> None:
    with pytest.raises(UnsafeUrl):
        check_platform_url(url, "f", development=True)
    with pytest.raises(UnsafeUrl):
        check_platform_url(url, "f", development=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://lms.example.edu/auth",
        "https://localhost/auth",
        "https://app.localhost/auth",
        "https://127.0.0.1:8080/auth",
        "https://10.1.2.3/auth",
        "https://192.168.0.10/auth",
        "https://172.16.5.5/auth",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/auth",
        "https://[fe80::1]/auth",
        "https://[::ffff:127.0.0.1]/auth",
        "https://0.0.0.0/auth",
        "https://moodle/auth",
        "https://moodle.internal/auth",
    ],
)
def test_plain_http_and_local_hosts_only_in_development(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_platform_url(url, "f", development=False)
    assert check_platform_url(url, "f", development=True) == url


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, 443)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.mark.parametrize("address", ["10.0.0.7", "127.0.0.1", "169.254.169.254", "fd00::1", "::1"])
def test_a_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    _resolving_to(monkeypatch, "93.184.216.34", address)  # one bad address among good ones is enough
    with pytest.raises(UnsafeUrl, match="private network"):
        check_public_host("https://lms.example.edu/x", "f", development=False)
    check_public_host("https://lms.example.edu/x", "f", development=True)  # development: not checked


def test_a_name_resolving_to_public_addresses_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.216.34")
    check_public_host("https://lms.example.edu/x", "f", development=False)


def test_an_unresolvable_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(UnsafeUrl, match="could not be resolved"):
        check_public_host("https://nowhere.example/x", "f", development=False)


def test_same_host() -> None:
    assert same_host("https://lms.example.edu/reg", "https://lms.example.edu")
    assert same_host("https://lms.example.edu:8443/reg", "https://lms.example.edu")
    assert not same_host("https://evil.example/reg", "https://lms.example.edu")
    assert not same_host("https://lms.example.edu.evil.example/reg", "https://lms.example.edu")
