"""The body of any article page: where it is, what around it is not article, its blocks.

A page is its article plus the site around it: menus, share bars, related links,
comments, newsletter boxes, ads, cookie notices. The article is the element whose
paragraphs hold the most text for the least other text; boilerplate inside it
is recognised by its markup (the tag, a class or id that says share, related,
comments …) or by being mostly links. Captions are kept with their image, never
in the text. Pure functions over an lxml tree; they prune the tree they are given.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from lxml import etree
from lxml.etree import _Element

from crawler.items import Block, Image
from crawler.sites.blocks import blocks_from_element, image_url, text_of

# Never article text, wherever they stand.
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "button",
    "select",
    "textarea",
    "iframe",
    "svg",
)
# Not article text either, unless a page wraps its article in one (ASP.NET pages hold
# everything in a ``form``; some themes put the article in an ``aside``).
_CHROME_TAGS = ("nav", "aside", "footer", "form", "dialog", "menu")
_CHROME_TAG_SET = frozenset(_CHROME_TAGS)
_HOLDS_ARTICLE = etree.XPath(
    "boolean(descendant::p[string-length() > 150][string-length(normalize-space()) > 150][1])"
)
# A class or id word that marks boilerplate (words are split at spaces, - and _).
_BOILERPLATE = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|sharebar|social|socials|related|recommended|recommendations?"
    r"|comments?|commentlist|disqus|newsletter|subscribe|subscription|signup|promo|promos"
    r"|advert|adverts|advertisement|ads|ad|adslot|adunit|ad-slot|dfp|gpt|sponsored|sponsor"
    r"|cookie|cookies|consent|gdpr|breadcrumbs?|sidebar|widget|widgets|navbar|menu|nav"
    r"|popup|modal|outbrain|taboola|trending|popular|most-read|mostread|more-stories"
    r"|read-more|readmore|also-read|see-also|tags|tag-list|taglist|keywords|author-bio"
    r"|authorbio|bio|paywall|toolbar|print|hidden|visually-hidden|sr-only|screen-reader-text"
    r"|skip|jump|rating|vote|poll|pagination|pager|next-prev|masthead|banner|copyright"
    r"|byline|bylines|dateline|timestamp|published|posted-on|meta|article-meta|entry-meta"
    r"|post-meta|author|authors|contributor|updated|footer|site-footer)(?:$|[\s_-])",
    re.IGNORECASE,
)
# The same words matched case-sensitively in lower-cased ASCII marks (nearly all of them):
# equivalent there, and about three times as fast as the case-insensitive search.
_BOILERPLATE_ASCII = re.compile(_BOILERPLATE.pattern)
# Elements the pruning reads the class or id of (the rest is skipped in C).
_MARKED = etree.XPath(  # not inline words inside a paragraph: they are never boxes
    "descendant::*[@*][@class or @id or @role or @hidden or @aria-hidden or @style]"
    "[not(self::a or self::img or self::source or self::strong or self::em or self::b"
    " or self::i or self::br)][not(ancestor::p)]"
)
_CAPTION_MARKED = etree.XPath(  # each attribute read once: @class[...] over contains(@class)
    "descendant::*[@class[contains(., 'aption') or contains(., 'redit')]"
    " or @id[contains(., 'aption')]][not(self::figcaption or self::figure)]"
)
_IN_FIGURES = etree.XPath("descendant::figure/descendant::*")
_ROLES = frozenset(
    ("navigation", "banner", "complementary", "contentinfo", "search", "dialog", "menu")
)
_CAPTION_MARK = re.compile(r"caption|credit|wp-caption-text", re.IGNORECASE)
_STRING = etree.XPath("normalize-space()", smart_strings=False)
# Blocks with two links or more: those that may be lists of links. (The link test first:
# libxml2 stops at the second link, and few elements pass it; four times as fast.)
_LINK_HOLDERS = etree.XPath(
    "descendant::*[descendant::a[2]][self::ul or self::ol or self::div or self::section"
    " or self::table or self::dl or self::p or self::span]"
)
_LINKS = etree.XPath("descendant::a")

# Share of a paragraph's text in links above which it is a link, not text.
MAX_LINK_DENSITY = 0.5
# A block whose text is more links than this is a list of links (related, tags …).
MAX_LINK_SHARE = 0.6
# A sibling of the article's container with this share of its paragraph text goes with it.
SIBLING_SHARE = 0.2
SIBLING_LEVELS = 3
# A boilerplate-marked element holding more of the region's text than this stays.
MAX_MARKED_SHARE = 0.25


def _text_len(element: _Element) -> int:
    return len(_STRING(element))


def _link_len(element: _Element) -> int:
    return sum(len(_STRING(a)) for a in _LINKS(element))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters a page's text may hold but lxml refuses to be given (cleaning drops them too)."""


def drop(element: _Element) -> None:
    """Remove ``element``, keeping its tail text where it stood."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail and tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = _NOT_XML.sub("", (previous.tail or "") + tail)
        else:
            parent.text = _NOT_XML.sub("", (parent.text or "") + tail)
    parent.remove(element)


def prune_tags(root: _Element) -> bool:
    """Drop the elements that are never article text (scripts, menus, forms …); whether
    the page has a ``figcaption`` at all (the same walk tells, and most pages have none:
    their captioned figures need no search)."""
    chrome = []
    captions = False
    for element in list(root.iter(*_DROP_TAGS, *_CHROME_TAGS, "figcaption")):
        tag = element.tag
        if tag in _CHROME_TAG_SET:
            chrome.append(element)
        elif tag == "figcaption":
            captions = True
        else:
            drop(element)
    for element in chrome:
        if element.getparent() is not None and not _HOLDS_ARTICLE(element):
            drop(element)
    return captions


def is_boilerplate(element: _Element) -> bool:
    """Marked as not article: hidden, a landmark role, or a class/id that says so."""
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    style = element.get("style")
    if style and "display:none" in style.replace(" ", "").lower():
        return True
    if (element.get("role") or "").lower() in _ROLES:
        return True
    marks = f"{element.get('class') or ''} {element.get('id') or ''}"
    if marks == " ":
        return False
    if marks.isascii():
        return _BOILERPLATE_ASCII.search(marks.lower()) is not None
    return _BOILERPLATE.search(marks) is not None


_INLINE = frozenset(
    (
        "a", "span", "strong", "em", "b", "i", "u", "font", "small", "big", "sup", "sub",
        "mark", "abbr", "cite", "q", "time", "code", "s", "del", "ins", "label", "bdi", "bdo",
    )
)  # fmt: skip
# ``//body/descendant::x[…]`` and not ``//body//x[…]``: the same nodes, but libxml2 builds
# the set of every node under the body for the second form before it steps to the x.
_LONG_TEXTS = etree.XPath(  # the raw length first: it rules out most runs at no cost
    "//body/descendant::text()[string-length() > 24][string-length(normalize-space()) > 24][not(ancestor::a)]"
)


def text_weights(root: _Element) -> tuple[dict[_Element, int], dict[_Element, float]]:
    """Per element, the text of the paragraphs it holds, links not counted; and the
    text of the paragraphs right under it (its own, its children's, half of its
    grandchildren's): what a container of the article's paragraphs holds most of.

    A paragraph is the block element around a run of text (``p``, or a ``div``
    holding text directly); the text is found in C, only long runs are looked at.
    """
    weights: dict[_Element, int] = {}
    near: dict[_Element, float] = {}
    own: dict[_Element, int] = {}
    inline = _INLINE
    for text in _LONG_TEXTS(root):
        owner = text.getparent()
        if text.is_tail and owner is not None:
            owner = owner.getparent()
        while owner is not None and owner.tag in inline:
            owner = owner.getparent()
        if owner is None or owner.tag in ("h1", "title", "option"):
            continue
        own[owner] = own.get(owner, 0) + len(text.strip())
    # Each paragraph's text goes up to its ancestors once (a paragraph has many runs),
    # and once per parent: the article's paragraphs share one, whose ancestors are
    # walked once for all of them.
    get = weights.get
    up: dict[_Element, int] = {}
    for owner, weight in own.items():
        weights[owner] = get(owner, 0) + weight
        near[owner] = near.get(owner, 0) + weight
        parent = owner.getparent()
        if parent is None:
            continue
        near[parent] = near.get(parent, 0) + weight
        grand = parent.getparent()
        if grand is not None:
            near[grand] = near.get(grand, 0) + weight / 2
        up[parent] = up.get(parent, 0) + weight
    for parent, weight in up.items():
        weights[parent] = get(parent, 0) + weight
        for ancestor in parent.iterancestors():
            weights[ancestor] = get(ancestor, 0) + weight
    return weights, near


def best_region(root: _Element) -> tuple[list[_Element], dict[_Element, int]]:
    """The elements that hold the article, in page order, and the paragraph text of
    every element (:func:`text_weights`).

    The container with the most paragraph text right under it (the markup's hints
    weighed in) is the article; its siblings that hold paragraphs of their own
    too (a lead in a box of its own, a body split by an ad) go with it.
    """
    weights, near = text_weights(root)
    if not near:
        return [], weights
    best, best_score = None, 0.0
    for element, value in sorted(near.items(), key=lambda item: -item[1]):
        if value * MAX_MARK_FACTOR <= best_score:
            break  # no hint in the markup can lift the rest above the best
        score = value * _mark_factor(element)
        if score > best_score:
            best, best_score = element, score
    if best is None:
        return [], weights
    regions = [best]
    floor = SIBLING_SHARE * weights[best]
    level = best
    for _ in range(SIBLING_LEVELS):
        parent = level.getparent()
        if parent is None or level.tag in ("body", "html") or parent.tag in ("body", "html"):
            break
        before: list[_Element] = []
        after: list[_Element] = []
        side = before
        for sibling in parent:
            if sibling is level:
                side = after
            elif _goes_with(sibling, weights, floor):
                side.append(sibling)
        regions = before + regions + after
        level = parent
    return regions, weights


def _goes_with(sibling: _Element, weights: dict[_Element, int], floor: float) -> bool:
    """A sibling of the article's container that holds article paragraphs too."""
    if not isinstance(sibling.tag, str) or weights.get(sibling, 0) < floor:
        return False
    if is_boilerplate(sibling):
        return False
    return _link_len(sibling) < MAX_LINK_DENSITY * max(_text_len(sibling), 1) / 2


_CONTENT_MARK = re.compile(
    r"article[-_]?body|articlebody|story[-_]?body|entry[-_]content|post[-_]content|post[-_]body"
    r"|article[-_]content|article[-_]text|story[-_]content|main[-_]content|body[-_]text"
    r"|content[-_]body|article__body|rich[-_]?text",
    re.IGNORECASE,
)


MAX_MARK_FACTOR = 2.0


def _mark_factor(element: _Element) -> float:
    """What the markup says of a candidate region: ``itemprop="articleBody"`` or a class
    such as ``article-body`` make it likelier, a boilerplate class (footer, sidebar,
    comments …) on it or its parent much less likely."""
    if element.get("itemprop") == "articleBody":
        return MAX_MARK_FACTOR
    marks = f"{element.get('class') or ''} {element.get('id') or ''}"
    if marks != " " and _CONTENT_MARK.search(marks):
        return 1.5
    for node in (element, element.getparent()):
        if node is not None and node.tag != "body" and is_boilerplate(node):
            return 0.3
    return 1.0


def prune_region(
    region: _Element, weights: dict[_Element, int] | None = None, title: str = ""
) -> str | None:
    """Take boilerplate out of the article region; the byline text it held, if any.

    An element marked as boilerplate that holds a good share of the region's text is
    kept: page builders call every box a ``widget``.
    """
    byline: str | None = None
    weights = weights or {}
    limit = MAX_MARKED_SHARE * weights.get(region, 0)
    in_figures = set(_IN_FIGURES(region))  # a figure's caption box is no "meta" bar
    page = region.getroottree().getroot()
    for element in _MARKED(region):
        if weights.get(element, 0) > limit or element in in_figures:
            continue
        if is_boilerplate(element):
            if element.getroottree().getroot() is not page:
                continue  # inside a box already dropped
            if byline is None and _is_byline_mark(element):
                text = _STRING(element)
                if 0 < len(text) <= 160:
                    byline = text
            drop(element)
    _captions_to_figures(region)
    _stray_figcaptions(region)
    _centred_captions(region)
    for element in _LINK_HOLDERS(region):
        if not _attached(element, region):
            continue
        text = _text_len(element)
        linky = text and _link_len(element) > MAX_LINK_SHARE * text
        if linky and (text < 300 or next(element.iter("img"), None) is None):
            drop(element)
    folded = " ".join(title.split()).casefold()
    for heading in list(region.iter("h1")):
        drop(heading)
    if folded:
        for heading in list(region.iter("h2", "h3")):
            if _STRING(heading).casefold() == folded:
                drop(heading)
    return byline


def _attached(element: _Element, region: _Element) -> bool:
    """Still in the document (not inside an element already dropped)."""
    return element.getroottree().getroot() is region.getroottree().getroot()


_BYLINE_MARK = re.compile(r"byline|author|contributor", re.IGNORECASE)


def _is_byline_mark(element: _Element) -> bool:
    marks = f"{element.get('class') or ''} {element.get('id') or ''}"
    return _BYLINE_MARK.search(marks) is not None


def _captions_to_figures(region: _Element) -> None:
    """Captions printed beside an image in a box (WordPress ``wp-caption``, a
    ``caption`` class): the box becomes a ``figure`` and the caption its
    ``figcaption``, so that it goes with the image; a caption with no image near
    it leaves the text."""
    for element in _CAPTION_MARKED(region):
        marks = f"{element.get('class') or ''} {element.get('id') or ''}"
        if marks == " " or not _CAPTION_MARK.search(marks):
            continue
        if not _attached(element, region) or _inside_figcaption(element):
            continue
        if next(element.iter("img"), None) is not None:
            continue  # the box itself (``wp-caption``), not its caption
        box = element.getparent()
        for _ in range(3):
            if box is None or box is region:
                break
            if box.tag == "figure" or next(box.iter("img"), None) is not None:
                break
            box = box.getparent()
        if box is None or box is region or _text_len(box) > _text_len(element) + 200:
            drop(element)
            continue
        if box.tag != "figure":
            box.tag = "figure"
        existing = next(box.iter("figcaption"), None)
        if existing is None:
            element.tag = "figcaption"
        else:
            existing.append(_detached(element))


_CENTRED_AFTER_IMAGE = etree.XPath(
    "descendant::p[.//img][not(normalize-space())]/following-sibling::*[1][self::p]"
    "[contains(translate(@style, 'CENTER ', 'center'), 'align:center') or @align='center'"
    " or contains(@class, 'center')][string-length(normalize-space()) < 200]"
    "[not(starts-with(normalize-space(), '“') or starts-with(normalize-space(), '\"'))]"
    # and the text around it is not centred too (a page that centres everything)
    "[not(following-sibling::p[1][contains(translate(@style, 'CENTER ', 'center'),"
    " 'align:center') or @align='center' or contains(@class, 'center')])]"
)


_STRAY_FIGCAPTIONS = etree.XPath("descendant::figcaption[not(ancestor::figure)]")


def _stray_figcaptions(region: _Element) -> None:
    """A ``figcaption`` outside any ``figure`` (Reuters prints it after the figure) joins
    the figure just before it; with none, it still never is text."""
    for caption in _STRAY_FIGCAPTIONS(region):
        if not _join_figure(caption):
            drop(caption)


def _join_figure(caption: _Element) -> bool:
    """``caption`` joins the figure (or the box holding an image) just before it, if any."""
    previous = caption.getprevious()
    if previous is not None and previous.tag == "figure":
        previous.append(_detached(caption))
    elif previous is not None and next(previous.iter("img"), None) is not None:
        previous.tag = "figure"
        previous.append(_detached(caption))
    else:
        return False
    return True


_STRAY_IN_BODY = etree.XPath("//body/descendant::figcaption[not(ancestor::figure)]")


def _captions_beside_figures(root: _Element, regions: list[_Element]) -> None:
    """A ``figcaption`` beside its figure outside the text (the hero photo over the
    headline, nbcnews.com) joins it as in the text, so that the photo is the article's
    with its caption; one that the text holds is left to :func:`prune_region`."""
    for caption in _STRAY_IN_BODY(root):
        previous = caption.getprevious()
        if previous is None or any(
            region is caption or region in caption.iterancestors() for region in regions
        ):
            continue
        if any(region is previous or previous in region.iterancestors() for region in regions):
            continue  # the box before it holds the text: not a photo's
        _join_figure(caption)


def _centred_captions(region: _Element) -> None:
    """A short centred paragraph right under a paragraph that holds only an image, in text
    that is not centred, is its caption (81.cn, many Chinese and Vietnamese CMSs): the
    two become a figure."""
    for caption in _CENTRED_AFTER_IMAGE(region):
        image = caption.getprevious()
        if image is None or caption.getparent() is None:
            continue
        image.tag = "figure"
        caption.tag = "figcaption"
        image.append(_detached(caption))


def _inside_figcaption(element: _Element) -> bool:
    return any(a.tag == "figcaption" for a in element.iterancestors())


def _detached(element: _Element) -> _Element:
    drop(element)
    element.tail = None
    return element


def figures_with_images(region: _Element, base_url: str) -> None:
    """A ``figure`` whose image is lazy (``picture``/``source`` sets, an ``img`` in
    ``noscript``, a ``data-`` attribute) gets a plain ``img``, so that its caption goes
    with an image and not into the text."""
    for figure in list(region.iter("figure")):
        if any(image_url(img, base_url) for img in figure.iter("img")):
            continue
        url = _lazy_image(figure, base_url)
        img = etree.Element("img")
        if url:
            img.set("src", url)
        figure.insert(0, img)


def _lazy_image(figure: _Element, base_url: str) -> str | None:
    for element in figure.iter():
        if not isinstance(element.tag, str):
            continue
        for attr in ("srcset", "data-srcset", "data-src", "data-original", "data-lazy-src"):
            value = (element.get(attr) or "").strip()
            if value and not value.startswith("data:"):
                first = value.split(",")[0].split()[0]
                probe = etree.Element("img")
                probe.set("src", first)
                return image_url(probe, base_url)
    return None


_BOILERPLATE_TEXT = re.compile(
    r"^(?:advertisement|advertising|sponsored|share(?: this(?: article| story)?)?|"
    r"(?:read|see) (?:more|also)\b.{0,120}|related(?: articles?| stories| coverage)?:?.{0,120}|"
    r"(?:sign up|subscribe)\b.{0,200}|click here\b.{0,120}|follow us\b.{0,120}|"
    r"(?:photo|image|video)(?: credit)?:.{0,120}|continue reading.{0,40}|"
    r"(?:we|this (?:site|website)) uses? cookies\b.{0,300}|all rights reserved.{0,80}|"
    r"©.{0,160}|copyright\b.{0,160}|loading\W*|play video|watch:.{0,120}|"
    r"(?:updated|published|posted)(?: on)?:? .{0,60}|last (?:updated|modified):? .{0,60}|"
    r"(?:leave|post|add) a comment.{0,40}|comments?\s*\(?\d*\)?|\d+ comments?|"
    r"tags?:.{0,200}|filed under:?.{0,200}|topics?:.{0,200})$",
    re.IGNORECASE,
)


def is_boilerplate_text(paragraph: str) -> bool:
    """A paragraph that is the site talking, not the article (``Advertisement``,
    ``Read more: …``, ``Sign up for …``)."""
    return len(paragraph) <= 320 and _BOILERPLATE_TEXT.match(paragraph.strip()) is not None


def clean_blocks(blocks: Iterable[Block]) -> list[Block]:
    """The blocks without the paragraphs that are the site talking."""
    return [b for b in blocks if not isinstance(b, str) or not is_boilerplate_text(b)]


class Body(NamedTuple):
    blocks: list[Block]
    byline: str | None = None  # the credit line the text region held (it left the text)
    lead: str | None = None  # the summary printed in a box of its own over the text


def body(root: _Element, base_url: str, title: str = "", summary: str | None = None) -> Body:
    """The article's blocks, and what left them: the byline line, the printed lead."""
    captions = prune_tags(root)
    regions, weights = best_region(root)
    if regions and captions:
        _captions_beside_figures(root, regions)
    captioned = _CAPTIONED_FIGURES(root) if regions and captions else []
    byline = None
    lead = None
    blocks: list[Block] = []
    if regions and summary:
        lead = _take_lead(regions, summary)
    for region in regions:
        if region.getparent() is None:
            continue  # the lead's own box, taken out
        byline = prune_region(region, weights, title) or byline
        figures_with_images(region, base_url)
        blocks += clean_blocks(blocks_from_element(region, base_url))
    if regions and captioned:
        blocks = _outside_figures(captioned, regions, base_url, blocks)
    return Body(blocks, byline, lead)


_LEAD_MARK = re.compile(r"sapo|summary|lead|standfirst|chapeau|excerpt|intro|desc", re.I)


def _take_lead(regions: list[_Element], summary: str) -> str | None:
    """The summary printed in a box of its own over the text (``sapo``, ``summary``,
    ``lead`` …, or a box that holds nothing else) leaves the text: it is the record's
    summary, as site parsers take it."""
    wanted = _comparable(summary)
    if not wanted:
        return None
    boxes = list(regions[:-1][:2])
    boxes += [  # at the top of the text itself
        box
        for box in itertools.islice(regions[0].iterchildren(), 8)
        if isinstance(box.tag, str)
        and _LEAD_MARK.search(f"{box.get('class') or ''} {box.get('id') or ''}")
    ]
    level = regions[0]
    for _ in range(3):  # boxes just before the text, at its level and the two above
        boxes += [
            box
            for box in itertools.islice(level.itersiblings(preceding=True), 4)
            if isinstance(box.tag, str)
            and _LEAD_MARK.search(f"{box.get('class') or ''} {box.get('id') or ''}")
        ]
        parent = level.getparent()
        if parent is None or parent.tag == "body":
            break
        level = parent
    for box in boxes:
        text = str(_STRING(box))
        found = _comparable(text)
        if found and (
            found == wanted or (found.endswith(wanted) and len(found) - len(wanted) < 20)
        ):
            drop(box)
            return text
    return None


_CAPTIONED_FIGURES = etree.XPath("//body/descendant::figure[descendant::figcaption]")


def _outside_figures(
    figures: list[_Element], regions: list[_Element], base_url: str, blocks: list[Block]
) -> list[Block]:
    """The article's captioned figures that stand outside its text (a lead photo above
    the headline, a gallery after): their images, before or after the text."""
    first = regions[0]
    before: list[Block] = []
    after: list[Block] = []
    for figure in figures:
        if not _attached(figure, first) or any(
            region is figure or region in figure.iterancestors() or figure in region.iter("figure")
            for region in regions
        ):
            continue
        if any(a.tag == "a" for a in figure.iterancestors()):
            continue  # a teaser card: another article's picture and headline
        images = _figure_images(figure, base_url)
        if images:
            (before if _precedes(figure, first) else after).extend(images)
    return [*before, *blocks, *after]


def _precedes(element: _Element, other: _Element) -> bool:
    """``element`` comes before ``other`` in the page (neither holds the other)."""
    chain = [element, *element.iterancestors()]
    position = {id(node): index for index, node in enumerate(chain)}
    child = other
    for ancestor in other.iterancestors():
        if id(ancestor) in position:
            mine = chain[position[id(ancestor)] - 1]
            return bool(ancestor.index(mine) < ancestor.index(child))
        child = ancestor
    return False


def _figure_images(figure: _Element, base_url: str) -> list[Image]:
    caption_el = next(figure.iter("figcaption"), None)
    caption = text_of(caption_el) if caption_el is not None else ""
    urls = [image_url(img, base_url) for img in figure.iter("img")]
    urls = [u for u in urls if u] or [_lazy_image(figure, base_url)]
    images = [Image(url=url) for url in urls]
    if images and " ".join(caption.split()):
        images[0].caption = caption
    return images


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_SENTENCE_END = re.compile(r"[.!?。！？…:;)\"”]$")
# The first paragraph worth the name: text before it is page furniture when it looks so.
LEAD_LENGTH = 80


def _comparable(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def trim_edges(blocks: list[Block], is_date: Callable[[str], bool]) -> list[Block]:
    """Page furniture at the edges of the text.

    Before the first real paragraph: a section label, a printed date. At the end: a
    line that gives an e-mail address (``send your stories to …``).
    """
    start = next(
        (i for i, b in enumerate(blocks) if isinstance(b, str) and len(b) >= LEAD_LENGTH),
        0,
    )
    head = [
        b
        for b in blocks[:start]
        if not isinstance(b, str)
        or not (is_date(b) or (len(b.split()) <= 3 and not _SENTENCE_END.search(b.strip())))
    ]
    blocks = head + blocks[start:]
    while blocks and isinstance(blocks[-1], str) and len(blocks[-1]) <= 200:
        if not _EMAIL.search(blocks[-1]):
            break
        blocks = blocks[:-1]
    return blocks
