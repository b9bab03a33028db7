"""Canonical article URLs: one article, one URL, one ``url_key``."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|yclid|igshid|mc_cid|mc_eid|zarsrc|gidzl|_ga|ref|ref_src|"
    r"cmpid|spm|from|share|source)$",
    re.IGNORECASE,
)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What a path may hold as it is: printable ASCII but for what browsers escape in a path
# (space " # < > ? ` { }) and "%", which only starts an escape.
_PATH_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|[^!$&\'()*+,\-./0-9:;=@A-Z\[\\\]^_a-z|~]")
_HOST_NAME = re.compile(r"^[a-z0-9.-]*$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def join_url(base: str, link: str) -> str | None:
    """``link`` made absolute against ``base``; None when urllib cannot split it
    (``http://[x``), so that one bad link on a page costs that link, not the page."""
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def canonical_url(url: str, host: str | None = None) -> str:
    """Drop tracking parameters and the fragment; optionally force the site's host.

    ``host`` (e.g. ``www.qdnd.vn``) makes ``qdnd.vn`` and ``www.qdnd.vn`` one URL, and
    ``http`` ``https``. Spellings of one URL become one: host case, IDN or punycode,
    default port, trailing slash, percent-escapes (``%7e``, ``%7E`` and ``~``; ``ạ``
    and ``%E1%BA%A1``). The result is ASCII. Raises ``ValueError`` for what
    ``urllib.parse.urlsplit`` cannot split (``http://[``).
    """
    parts = urlsplit(url.strip())
    given = parts.scheme.lower()
    scheme = "https" if host and given == "http" else given
    netloc = _netloc(parts.netloc, {_DEFAULT_PORTS.get(given), _DEFAULT_PORTS.get(scheme)})
    if host and netloc.removeprefix("www.") == host.removeprefix("www."):
        netloc = host
    path = _escape_path(parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if not netloc and path.startswith("//"):
        path = "/" + path.lstrip("/")  # else it would read as a host the next time
    if not scheme and not netloc:  # and "%41:" (A:) as a scheme
        first, slash, rest = path.partition("/")
        path = first.replace(":", "%3A") + slash + rest
    # Decoded and encoded again: one spelling per query. Bytes that are not UTF-8
    # survive as they were (surrogateescape) instead of becoming U+FFFD.
    pairs = parse_qsl(_escape_path(parts.query), keep_blank_values=True, errors="surrogateescape")
    query = urlencode(
        [(k, v) for k, v in pairs if not _TRACKING.match(k)], errors="surrogateescape"
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _escape_path(text: str) -> str:
    """RFC 3986 normal form of escapes: unreserved characters unescaped, the other
    escapes upper-case, anything else outside the safe set escaped as UTF-8."""
    return _PATH_ESCAPE.sub(_fix_escape, text)


def _fix_escape(match: re.Match[str]) -> str:
    found = match.group()
    if found.startswith("%") and len(found) == 3:
        char = chr(int(found[1:], 16))
        return char if char in _UNRESERVED else found.upper()
    # surrogatepass: a lone surrogate (broken decoding) still gets an escape, not a crash.
    return "".join(f"%{byte:02X}" for byte in found.encode("utf-8", "surrogatepass"))


def _netloc(netloc: str, default_ports: set[str | None]) -> str:
    """Lower-case host, IDN as punycode, no default port."""
    netloc = netloc.lower()
    if not netloc.isascii():
        userinfo, at, hostport = netloc.rpartition("@")
        name, colon, port = hostport.partition(":")
        with contextlib.suppress(UnicodeError):  # not a valid IDN: kept, escaped
            punycode = name.encode("idna").decode("ascii")
            if _HOST_NAME.match(punycode):  # "¡[::]" would give a broken IPv6 literal
                name = punycode
        netloc = _escape_path(userinfo + at + name + colon + port).lower()
    rest, colon, port = netloc.rpartition(":")
    if colon and port in default_ports:
        netloc = rest
    return netloc


def site_of(url: str) -> str:
    """Domain without ``www.``, as the record's ``site`` column."""
    return (urlsplit(url).hostname or "").removeprefix("www.")
