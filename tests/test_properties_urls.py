"""Property tests of URL canonicalisation: canonical once is canonical for good, and
every spelling of one article's URL gives one URL, hence one ``url_key``.

Budget: the ``ci`` hypothesis profile of tests/conftest.py (a long run:
``HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/test_properties_*.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crawler.items import sha256_hex
from crawler.kit.fixtures import fixture_page
from crawler.urls import _TRACKING, canonical_url

HOSTS = st.sampled_from([None, "www.qdnd.vn", "qdnd.vn", "english.news.cn"])
URL_PIECES = st.sampled_from(
    ["http://", "https://", "HTTPS://", "//", "/", "www.", "qdnd.vn", "QDND.VN", "quânđội.vn",
     "xn--", ":", ":443", ":80", "@", "[", "]", "[::1]", "%", "%2", "%41", "%e1%bb%a9", "%ff",
     "%2F", "?", "#", "&", "=", "+", ";", "utm_source=x", "fbclid=1", ".", "..", " ", "\t", "\n",
     "ạ", "中", "\u200b", "\ud800", "\udcff"]
)  # fmt: skip


def _canonical_or_refused(url: str, host: str | None) -> str | None:
    try:
        return canonical_url(url, host)
    except ValueError:  # urlsplit refuses it ("http://[x"): documented
        return None


@given(
    st.one_of(st.text(st.characters()), st.lists(URL_PIECES | st.text(max_size=3)).map("".join)),
    HOSTS,
)
@example("%41:", None)  # unescaped, "A:" would read as a scheme the next time
@example("A://¡[::]", None)  # punycode of "¡[" broke the IPv6 literal: unsplittable
@example("HTTP://x:443", "x")  # the port became the default only once http was https
@example("https:////a", None)  # an empty host read as a path would become a host next time
@example("https://x:8443/a", "x")  # a port that only ends like the default one
@example("https://qdnd.vn/a?q=%ff", None)  # not UTF-8: kept, not turned into U+FFFD
@example("https://qdnd.vn/\ud800", None)  # a lone surrogate
def test_canonical_url_is_idempotent_and_ascii(url: str, host: str | None) -> None:
    once = _canonical_or_refused(url, host)
    if once is None:
        return
    assert canonical_url(once, host) == once
    assert once.isascii()
    sha256_hex(once)  # a url_key can always be made of it


# -- every spelling of one article ---------------------------------------------------

_SEGMENT_CHARS = st.one_of(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-._~"),
    st.sampled_from("ABCXYZ!$&'()*+,;=:@"),
    st.sampled_from("ạđươếộ中军"),  # non-ASCII: escaped as UTF-8
    st.sampled_from(' "<>`{}'),  # ASCII that must be escaped
)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SAFE_AS_IS = frozenset("!$&'()*+,;=:@")  # sub-delimiters: %3D is not = in a path


@st.composite
def article_urls(draw: st.DrawFn) -> tuple[str, list[str], str | None]:
    """(one article's URL, other spellings of it, the site's canonical host)."""
    domain = draw(st.sampled_from(["qdnd.vn", "english.news.cn", "quânđội.vn", "bộquốcphòng.vn"]))
    force = draw(st.booleans())  # a site spider forces its host; the generic one does not
    host = "www." + domain.encode("idna").decode() if force else None
    segments = draw(
        st.lists(st.lists(_SEGMENT_CHARS, min_size=1, max_size=8), min_size=1, max_size=4)
    )
    keys = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5).filter(
        lambda k: not _TRACKING.match(k)
    )
    params = draw(st.lists(st.tuples(keys, st.text(max_size=6)), max_size=3))
    base_host = "www." + domain
    base = (
        f"https://{base_host}/"
        + "/".join(quote("".join(seg), safe="".join(_SAFE_AS_IS)) for seg in segments)
        + (f"?{urlencode(params)}" if params else "")
    )

    def spelling() -> str:
        scheme = draw(st.sampled_from(["https", "HTTPS", "http"] if force else ["https", "HTTPS"]))
        name = base_host.removeprefix("www.") if force and draw(st.booleans()) else base_host
        if draw(st.booleans()):
            name = name.encode("idna").decode()  # punycode
        name = "".join(c.upper() if draw(st.booleans()) else c for c in name)
        port = draw(st.sampled_from(["", ":443"] if scheme.lower() == "https" else ["", ":80"]))
        path = "/".join(_spell_segment(draw, "".join(seg)) for seg in segments)
        path += draw(st.sampled_from(["", "/", "//"]))
        query = _spell_query(draw, params)
        fragment = draw(st.sampled_from(["", "#", "#comments", "#x?y=1"]))
        return f"{scheme}://{name}{port}/{path}{query}{fragment}"

    spellings = [spelling() for _ in range(draw(st.integers(1, 4)))]
    return base, spellings, host


def _spell_segment(draw: st.DrawFn, segment: str) -> str:
    out = []
    for char in segment:
        if char in _SAFE_AS_IS:
            out.append(char)
            continue
        how = draw(st.integers(0, 2)) if char in _UNRESERVED or not char.isascii() else 1
        if how == 0:
            out.append(char)  # as is (an IRI for non-ASCII)
        else:
            escaped = "".join(f"%{b:02X}" for b in char.encode("utf-8"))
            out.append(escaped.lower() if how == 2 else escaped)
    return "".join(out)


def _spell_query(draw: st.DrawFn, params: list[tuple[str, str]]) -> str:
    pairs = [f"{quote(k)}={quote(v, safe='') if draw(st.booleans()) else quote(v).replace('%20', '+')}"
             for k, v in params]  # fmt: skip
    for _ in range(draw(st.integers(0, 2))):
        tracker = draw(
            st.sampled_from(["utm_source=fb", "UTM_Medium=social", "fbclid=abc", "gclid=", "ref"])
        )
        pairs.insert(draw(st.integers(0, len(pairs))), tracker)
    return "?" + "&".join(pairs) if pairs else draw(st.sampled_from(["", "?"]))


@given(article_urls())
@example(
    (
        "https://www.qdnd.vn/tin-t%E1%BB%A9c/a-b",
        [
            "http://QDND.vn/tin-tức/a%2db/?utm_source=fb#c",
            "https://qdnd.vn:443/tin-t%e1%bb%a9c/a-b//",
        ],
        "www.qdnd.vn",
    )
)
def test_every_spelling_of_an_article_gives_one_url_key(
    case: tuple[str, list[str], str | None],
) -> None:
    base, spellings, host = case
    expected = canonical_url(base, host)
    for spelling in spellings:
        assert canonical_url(spelling, host) == expected, spelling
    assert len({sha256_hex(canonical_url(u, host)) for u in [base, *spellings]}) == 1


@pytest.mark.parametrize(
    "url",
    ["https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345", "https://www.qdnd.vn/a?id=1&p=2"],
)
def test_a_plain_ascii_url_keeps_its_url_key(url: str) -> None:
    """Canonicalisation changed: URLs already archived must keep their url_key."""
    assert canonical_url(url, "www.qdnd.vn") == url


def test_a_page_whose_canonical_link_cannot_be_split_keeps_its_article(tmp_path: Path) -> None:
    """canonical_url raises for ``http://[``: the parser falls back to the page's URL
    instead of losing the article (it raised out of the spider's parse)."""
    case = Path(__file__).parent / "fixtures" / "qdnd" / "2022-701234.json"
    expected = json.loads(case.read_text("utf-8"))
    page = tmp_path / "page.html"
    html = fixture_page(case).read_text("utf-8")
    page.write_text(html.replace("<head>", '<head><link rel="canonical" href="http://[x/">', 1))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "extract",
            "qdnd",
            str(page),
            "--url",
            expected["url"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["url"] == expected["url"]
    assert record["body"] == expected["record"]["body"]
