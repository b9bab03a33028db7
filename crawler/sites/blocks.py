"""HTML body to ordered blocks: paragraphs and images with the caption the markup gives.

Pure functions over lxml elements, shared by every site. Image tables (an
``img`` row and a caption row, qdnd.vn's editor layout), ``figure`` elements and
bare images become :class:`Image` blocks where they stood; everything else that
holds text becomes paragraphs: one per block element, and for text loose in a
container, one per ``<br>``-separated line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from lxml import html as lxml_html
from lxml.etree import _Element
from w3lib.url import safe_url_string

from crawler.items import Block, Image
from crawler.text.layout import DEFAULT_RULES
from crawler.urls import join_url

SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "svg",
        "canvas",
        "object",
        "embed",
        "video",
        "audio",
        "source",
        "picture",
        "map",
        "head",
        "link",
        "meta",
    ]
)
# Elements whose content is one paragraph.
PARAGRAPH_TAGS = frozenset(
    [
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "dt",
        "dd",
        "pre",
        "address",
        "caption",
        "figcaption",
    ]
)
# Elements that only group other blocks.
CONTAINER_TAGS = frozenset(
    [
        "div",
        "section",
        "article",
        "main",
        "aside",
        "header",
        "footer",
        "ul",
        "ol",
        "dl",
        "blockquote",
        "center",
        "body",
        "html",
        "tbody",
        "thead",
        "tfoot",
        "tr",
    ]
)
_IMAGE_ATTRS = ("data-src", "data-original", "data-lazy-src", "src")
_SPACE = re.compile(r"\s+")
_TOOLBAR_BUTTONS = frozenset(("left", "center", "right", "del"))
# URLs that need no escaping (the common case; escaping is comparatively slow).
_PLAIN_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def _tag(element: _Element) -> str:
    """The element's tag; ``""`` for a comment, processing instruction or entity (whose
    ``tag`` is a function), so that a true tag is always an element's."""
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""


def image_url(img: _Element, base_url: str) -> str | None:
    for attr in _IMAGE_ATTRS:
        value = (img.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            url = value if value.startswith(("https://", "http://")) else join_url(base_url, value)
            if url is None:
                return None
            return url if _PLAIN_URL.fullmatch(url) else str(safe_url_string(url))
    return None


def inline_lines(element: _Element) -> list[str]:
    """The text of ``element`` as lines: nested block tags break lines.

    A ``<br>`` inside a paragraph is a space: the paragraph stays one paragraph.
    """
    lines: list[str] = []
    current: list[str] = []

    def walk(node: _Element) -> None:
        text = node.text  # each read of .text or .tail builds a new string: read once
        if text:
            current.append(text)
        for child in node:
            tag = _tag(child)
            if tag and tag not in SKIP_TAGS:
                if tag == "br":
                    current.append(" ")
                elif tag in PARAGRAPH_TAGS or tag in CONTAINER_TAGS:
                    lines.append("".join(current))
                    current.clear()
                    walk(child)
                    lines.append("".join(current))
                    current.clear()
                else:
                    walk(child)
            tail = child.tail
            if tail:
                current.append(tail)

    walk(element)
    lines.append("".join(current))
    return [line for line in lines if line.strip()]


def text_of(element: _Element) -> str:
    """All text of ``element`` on one line (lines joined by a space)."""
    return " ".join(inline_lines(element))


def _is_toolbar(text: str) -> bool:
    """The image editor's toolbar, whole or one button per cell."""
    squeezed = _SPACE.sub(" ", text).strip()
    if squeezed.lower() in _TOOLBAR_BUTTONS:
        return True
    return bool(squeezed) and DEFAULT_RULES.token.fullmatch(squeezed) is not None


def image_table(table: _Element, base_url: str) -> list[Image]:
    """Images of an editor table, each with the caption its other cells (or its own) hold."""
    images: list[Image] = []
    orphan: list[str] = []  # caption text seen before any image
    for cell in table.iter("td", "th"):
        if any(c is not cell for c in cell.iter("td", "th")):
            continue  # holds a nested table, whose own cells come next
        text = text_of(cell)
        caption = text if text.strip() and not _is_toolbar(text) else None
        imgs = list(cell.iter("img"))
        if imgs:
            first = len(images)
            images.extend(Image(url=image_url(img, base_url)) for img in imgs)
            if orphan:
                images[first].caption = " ".join(orphan)
                orphan.clear()
            if caption is not None and images[-1].caption is None:
                images[-1].caption = caption
            continue
        if caption is None:
            continue
        target = next((i for i in images if i.caption is None), None)
        if target is not None:
            target.caption = caption
        elif images:
            images[-1].caption = f"{images[-1].caption} {caption}"
        else:
            orphan.append(caption)
    return images


def _figure(figure: _Element, base_url: str) -> list[Image]:
    """A ``figure`` (or a CMS photo box): its images, the first with the caption."""
    if _tag(figure) == "figure":
        caption_el = next(figure.iter("figcaption"), None)
    else:
        caption_el = next(iter(_PHOTO_CAPTION(figure)), None)
    caption = text_of(caption_el) if caption_el is not None else None
    images = [Image(url=image_url(img, base_url)) for img in figure.iter("img")]
    if images:
        images[0].caption = caption or None
    return images


# The VCCorp CMS (many Vietnamese news sites): <div class="VCSortableInPreviewMode" type="Photo">
# holding the image and a .PhotoCMS_Caption.
_PHOTO_CAPTION = etree.XPath('.//*[contains(@class, "PhotoCMS_Caption")]')


def _is_photo_box(element: _Element) -> bool:
    return "VCSortableInPreviewMode" in (element.get("class") or "") and (
        (element.get("type") or "").lower() == "photo"
    )


def _has(element: _Element, tag: str) -> bool:
    return next(element.iter(tag), None) is not None


def blocks_from_element(body: _Element, base_url: str) -> list[Block]:
    """The ordered blocks of an article body element."""
    return list(_blocks(body, base_url))


def _blocks(node: _Element, base_url: str) -> Iterator[Block]:
    loose: list[str] = []  # inline text directly inside a container

    def flush() -> Iterator[Block]:
        if loose:
            text = "".join(loose)
            loose.clear()
            if text.strip():
                yield text

    text = node.text
    if text:
        loose.append(text)
    for child in node:
        tag = _tag(child)
        if not tag or tag in SKIP_TAGS:
            pass
        elif tag == "table":
            yield from flush()
            if _has(child, "img"):
                yield from image_table(child, base_url)
            else:
                yield from _data_table(child)
        elif tag == "figure" or _is_photo_box(child):
            yield from flush()
            yield from _figure(child, base_url) if _has(child, "img") else inline_lines(child)
        elif tag == "img":
            yield from flush()
            yield Image(url=image_url(child, base_url))
        elif tag in CONTAINER_TAGS or (tag in PARAGRAPH_TAGS and _has_block_child(child)):
            yield from flush()
            yield from _blocks(child, base_url)
        elif tag in PARAGRAPH_TAGS:
            yield from flush()
            yield from inline_lines(child)
            for img in child.iter("img"):
                yield Image(url=image_url(img, base_url))
        elif tag == "br":
            yield from flush()
        elif _has(child, "img"):
            yield from flush()
            yield from _blocks(child, base_url)
        else:
            loose.append(
                lxml_html.tostring(child, method="text", encoding="unicode", with_tail=False)
            )
        tail = child.tail
        if tail:
            loose.append(tail)
    yield from flush()


def _has_block_child(element: _Element) -> bool:
    return any(_tag(c) in ("table", "figure", "div") for c in element)


def _data_table(table: _Element) -> Iterator[str]:
    """A table of data: one paragraph per row, cells separated by `` | ``."""
    for row in table.iter("tr"):
        cells = [text_of(cell) for cell in row if _tag(cell) in ("td", "th")]
        cells = [c for c in cells if c.strip()]
        if cells:
            yield " | ".join(cells)
