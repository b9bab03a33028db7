"""Feeds and sitemaps read from the bytes a site serves: streamed, entity-safe, break-tolerant.

A feed or sitemap is whatever a stranger serves, up to ``DOWNLOAD_MAXSIZE``. It
is read as a stream of records (RSS ``item``, Atom ``entry``, sitemap ``url``
and ``sitemap``), each dropped once read, so memory stays flat and the first
record is ready at once. Entities are never expanded or fetched (no DTD, no
network; libxml2 refuses an exponential entity blow-up). The parse does not
recover from broken XML: recovery would close a record cut in the middle of
its link and hand back a wrong URL. It stops at the break instead, and the
records before it are kept.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from io import BytesIO

from lxml import etree
from scrapy.utils.gz import gunzip

FEED_RECORDS = frozenset({"item", "entry"})
SITEMAP_RECORDS = frozenset({"url", "sitemap"})
SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
GZIP_MAGIC = b"\x1f\x8b"


def local_name(element: etree._Element) -> str:
    """The tag without its namespace; ``""`` for entities and the like."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


class XmlRecords:
    """The elements named ``names`` of an XML document, each whole, in document order.

    Iterate once. Each yielded element is valid until the next one is asked
    for. Afterwards ``root`` is the local name of the root element (``""`` if
    none was read) and ``error`` the parser's message if the XML broke. With
    ``roots``, a document whose root is not one of them yields nothing.
    ``encoding`` overrides the document's own (its declaration, or UTF-8).
    """

    def __init__(
        self,
        body: bytes,
        names: frozenset[str],
        roots: frozenset[str] | None = None,
        encoding: str | None = None,
    ) -> None:
        self._body = body
        self._names = names
        self._roots = roots
        self._encoding = encoding
        self.root = ""
        self.error: str | None = None

    def __iter__(self) -> Iterator[etree._Element]:
        events = etree.iterparse(
            BytesIO(self._body),
            events=("start", "end"),
            recover=False,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            encoding=self._encoding,
        )
        depth = 0  # inside a record: its descendants stay until the record ends
        try:
            for event, element in events:
                if event == "start":
                    name = local_name(element)
                    if not self.root:
                        self.root = name
                        if self._roots is not None and name not in self._roots:
                            return
                    if depth or name in self._names:
                        depth += 1
                    continue
                if depth:
                    depth -= 1
                    if depth:
                        continue
                    yield element
                _drop(element)
        except etree.XMLSyntaxError as error:
            self.error = " ".join(str(error).split())  # one line for the log


def _drop(element: etree._Element) -> None:
    """Free an ended element and its earlier siblings (the parser still holds its ancestors)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def child_text(record: etree._Element, name: str) -> str | None:
    """The stripped text of the record's first child called ``name`` that has plain text.

    A child holding an unexpanded entity is incomplete and skipped.
    """
    for child in record:
        if local_name(child) == name and len(child) == 0:
            text: str = (child.text or "").strip()
            if text:
                return text
    return None


def feed_link(item: etree._Element) -> str | None:
    """An RSS item's ``<link>`` text, or an Atom entry's ``<link href>`` (``alternate`` first)."""
    text = child_text(item, "link")
    if text:
        return text
    links = [child for child in item if local_name(child) == "link" and child.get("href")]
    alternate = [link for link in links if link.get("rel", "alternate") == "alternate"]
    for link in alternate or links:
        href: str = link.get("href", "").strip()
        if href:
            return href
    return None


def feed_date(item: etree._Element) -> str | None:
    """The item's publish date as written (RSS ``pubDate``, Atom ``published``)."""
    return child_text(item, "pubDate") or child_text(item, "published")


def sitemap_body(body: bytes, max_size: int) -> bytes:
    """The XML of a sitemap: gunzipped when it starts with gzip's magic bytes.

    ``.xml.gz`` sitemaps are often served without ``Content-Encoding`` (so
    Scrapy leaves them compressed), whatever their ``Content-Type``. The
    decompressed size is held to ``max_size`` (``DOWNLOAD_MAXSIZE``; 0: none).
    Raises ``ValueError`` for a corrupt archive or one over the limit.
    """
    if not body.startswith(GZIP_MAGIC):
        return body
    try:
        data: bytes = gunzip(body, max_size=max_size)
    except (ValueError, OSError, EOFError, struct.error, zlib.error) as error:
        raise ValueError(f"gzip: {error}") from error  # the size limit's error is a ValueError
    return data
