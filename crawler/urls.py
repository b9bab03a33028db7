"""Canonical article URLs: one article, one URL, one ``url_key``."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|yclid|igshid|mc_cid|mc_eid|zarsrc|gidzl|_ga|ref|ref_src|"
    r"cmpid|spm|from|share|source)$",
    re.IGNORECASE,
)


def canonical_url(url: str, host: str | None = None) -> str:
    """Drop tracking parameters and the fragment; optionally force the site's host.

    ``host`` (e.g. ``www.qdnd.vn``) makes ``qdnd.vn`` and ``www.qdnd.vn`` one URL.
    """
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    netloc = parts.netloc.lower()
    if host and netloc.removeprefix("www.") == host.removeprefix("www."):
        netloc = host
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    scheme = parts.scheme.lower()
    if host and scheme == "http":
        scheme = "https"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def site_of(url: str) -> str:
    """Domain without ``www.``, as the record's ``site`` column."""
    return (urlsplit(url).hostname or "").removeprefix("www.")
