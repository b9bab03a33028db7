"""Generic extraction (``crawler/generic/``) on our own real material and on hostile pages.

The 28 real qdnd.vn bodies are read as the replica serves them, set in its qdnd.vn
page (``crawler/mirror/sites/qdnd.vn``, built from ``replicas/sources/qdnd.vn``);
what each must give is read off the body fragment with plain XPath, as
``tests/test_real_bodies.py`` does for the site parser. The real 81.cn page is the
pla_daily fixture (see ``tests/fixtures/pla_daily/PROVENANCE.md``). The benchmark
figures live in ``bench/extraction.py``, never here.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from support.real_bodies import expected_parts

from crawler.generic.compare import body_f1
from crawler.generic.extract import body, is_boilerplate_text
from crawler.generic.metadata import language_of, metadata, site_name_removed
from crawler.generic.parser import GenericParser
from crawler.items import Article
from crawler.kit.fixtures import fixture_page
from crawler.mirror.server import SITES_ROOT
from crawler.pipelines import clean
from crawler.sites.generic import GenericSpider
from crawler.sites.parser import parse_html
from crawler.text.dates import CHINA

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ROOT / "replicas/sources/qdnd.vn/article_body_fragments"
QDND = SITES_ROOT / "qdnd.vn"
REAL_81 = fixture_page(Path(__file__).parent / "fixtures/pla_daily/real-16459682.json")


def generic(page: bytes | str, url: str) -> Article:
    data = page.encode("utf-8") if isinstance(page, str) else page
    response = HtmlResponse(url=url, body=data, encoding="utf-8")
    return clean(GenericSpider().extract(response), check=True)


def _qdnd_real_articles() -> list[dict[str, str]]:
    manifest = json.loads((QDND / "manifest.json").read_text("utf-8"))
    return [a for a in manifest["articles"] if a.get("source") == "fragment"]


REAL_QDND = _qdnd_real_articles()


def _replica_page(url: str) -> bytes:
    from crawler.mirror.replica import article_pages

    pages = dict(article_pages("qdnd.vn"))
    return pages[url].read_bytes()


def test_the_28_real_bodies_are_in_the_replica() -> None:
    assert len(REAL_QDND) == 28
    assert len({a["source_file"] for a in REAL_QDND}) == 28


@pytest.mark.parametrize("entry", REAL_QDND, ids=lambda a: a["source_file"].split("/")[-1])
def test_real_qdnd_body_in_generic_mode(entry: dict[str, str]) -> None:
    article = generic(_replica_page(entry["url"]), entry["url"])
    captions, paragraphs, byline, trailers = expected_parts(
        FRAGMENTS / entry["source_file"].split("/")[-1]
    )
    assert article.title == entry["title"]
    assert article.parser_version == "generic-1"
    assert article.language == "vi"
    # Every paragraph, in order.
    position = 0
    for paragraph in paragraphs:
        found = article.body.find(paragraph, position)
        assert found >= 0, f"missing or out of order: {paragraph[:80]}"
        position = found + len(paragraph)
    # No caption, byline or trailer in the body; captions are the images'.
    got = [" ".join(filter(None, (i.caption, i.credit))) for i in article.images]
    for caption in captions:
        if caption not in paragraphs:  # 04.html repeats its lead paragraph as a caption
            assert caption not in article.body
        assert any(caption.replace("Ảnh: ", "") == g or caption == g for g in got), caption
    body_paragraphs = article.body.split("\n\n")
    assert byline not in body_paragraphs
    assert article.byline == byline
    for trailer in trailers:
        assert trailer not in article.body
    assert "leftcenterrightdel" not in article.body
    assert article.published_at == datetime.fromisoformat(entry["published"]).astimezone(UTC)


# -- the real 81.cn page -------------------------------------------------------------


@pytest.fixture(scope="module")
def pla() -> Article:
    return generic(REAL_81.read_bytes(), "https://www.81.cn/yw_208727/16459682.html")


def test_81cn_title_without_the_site_name(pla: Article) -> None:
    assert pla.title == "八一锐评丨既问计于兵，也问绩于兵"


def test_81cn_author_is_the_reporter_and_the_line_leaves_the_body(pla: Article) -> None:
    assert pla.authors == ["王永文"]
    assert "王永文" not in pla.body
    assert "■" not in pla.body


def test_81cn_body_and_date(pla: Article) -> None:
    from crawler.sites.pla_daily import PlaDailySpider

    response = HtmlResponse(
        "https://www.81.cn/yw_208727/16459682.html", body=REAL_81.read_bytes(), encoding="utf-8"
    )
    site = clean(PlaDailySpider().extract(response), check=True)
    assert pla.body == site.body
    assert pla.body.split("\n\n")[0].startswith("习主席强调")
    assert pla.language == "zh"
    # The meta says the day only; the time printed by the headline, in China time.
    assert pla.published_raw == "2026-05-10 06:30:46"
    assert pla.published_at == site.published_at == datetime(2026, 5, 9, 22, 30, 46, tzinfo=UTC)


# -- boilerplate, captions, metadata on small pages ------------------------------------

PARAGRAPHS = [
    "The ministry said on Tuesday that the new patrol vessels would enter service next year, "
    "after sea trials in the spring that tested their engines and their radar.",
    "Officials gave no figure for the cost of the programme, which parliament approved in "
    "March after a long debate about the navy's budget and the shipyards' order books.",
    "The first of the four ships was launched in a ceremony attended by the defence minister, "
    "who called it a milestone for the country's shipbuilding industry and its sailors.",
]


def page(article: str, head: str = "", around: str = "") -> str:
    related = "".join(
        f'<li><a href="/news/{i}">Another story about something else entirely, number {i}</a></li>'
        for i in range(8)
    )
    return (
        f"<html lang='en'><head><title>Navy gets new patrol ships | Example News</title>{head}"
        "</head><body><header><nav><a href='/'>Home</a><a href='/world'>World</a></nav></header>"
        f"<main><article><h1>Navy gets new patrol ships</h1>{article}</article>"
        f"<div class='related-stories'><h3>Related</h3><ul>{related}</ul></div>{around}</main>"
        "<div id='cookie-notice'>We use cookies to improve your experience on our site. "
        "By continuing you accept our use of cookies and our privacy policy.</div>"
        "<footer><p>© 2024 Example News. All rights reserved. Example News is a trading name "
        "of Example Media Ltd, registered in England.</p></footer></body></html>"
    )


def extract(document: str, url: str = "https://news.example.com/2024/05/navy-ships") -> Article:
    return generic(document, url)


def test_boilerplate_around_the_article_stays_out() -> None:
    share = "<div class='share-bar'><a href='#'>Share on Facebook</a><a href='#'>Tweet</a></div>"
    newsletter = (
        "<div class='newsletter-signup'><p>Sign up for our daily briefing and get the news "
        "that matters delivered to your inbox every morning before breakfast.</p></div>"
    )
    comments = (
        "<section id='comments'>"
        + "".join(
            f"<div class='comment'><p>Reader {i} wrote a long comment that says very little about "
            "the ships but a lot about the government and the weather this week.</p></div>"
            for i in range(6)
        )
        + "</section>"
    )
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    article = extract(page(share + paragraphs + newsletter, around=comments))
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.title == "Navy gets new patrol ships"
    assert article.language == "en"


def test_figure_captions_go_with_the_image_never_into_the_body() -> None:
    figure = (
        "<figure><img src='/img/ship.jpg' alt='a ship'><figcaption>The first patrol vessel "
        "leaves the yard in Hai Phong. Photo: Nguyen Van A</figcaption></figure>"
    )
    wordpress = (
        "<div class='wp-caption'><img src='/img/minister.jpg'><p class='wp-caption-text'>"
        "The minister at the launch ceremony on Tuesday.</p></div>"
    )
    lazy = (
        "<figure><picture><source srcset='/img/lazy.webp 1x'></picture><figcaption>Sea trials "
        "off the coast in April.</figcaption></figure>"
    )
    paragraphs = [f"<p>{p}</p>" for p in PARAGRAPHS]
    text = paragraphs[0] + figure + paragraphs[1] + wordpress + paragraphs[2] + lazy
    article = extract(page(text))
    assert article.body.split("\n\n") == PARAGRAPHS
    assert [(i.url, i.caption, i.credit) for i in article.images] == [
        (
            "https://news.example.com/img/ship.jpg",
            "The first patrol vessel leaves the yard in Hai Phong.",
            "Nguyen Van A",
        ),
        (
            "https://news.example.com/img/minister.jpg",
            "The minister at the launch ceremony on Tuesday.",
            None,
        ),
        ("https://news.example.com/img/lazy.webp", "Sea trials off the coast in April.", None),
    ]


def test_a_lead_photo_above_the_text_region_keeps_its_caption() -> None:
    lead = (
        "<figure class='lead'><img src='/img/lead.jpg'><figcaption>Sailors line the deck "
        "of the new ship during the ceremony.</figcaption></figure>"
    )
    text = "<div class='body'>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"
    article = extract(page(lead + text))
    assert article.images[0].caption == "Sailors line the deck of the new ship during the ceremony."
    assert "Sailors line the deck" not in article.body


def test_a_hero_photo_whose_caption_stands_beside_its_figure_keeps_it() -> None:
    """nbcnews.com: over the headline, the ``figcaption`` follows the box that holds the
    figure, not the figure itself; the photo is still the article's, with its caption.
    A box holding the text is never taken for the photo a caption goes with."""
    hero = (
        "<div class='hero'><div class='media'><figure><picture><img src='/img/house.jpg'>"
        "</picture></figure></div><figcaption><span>The house where the ceremony took place."
        "</span> <span>Photo Agency / Reuters file</span></figcaption></div>"
    )
    text = "<div class='body'>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"
    article = extract(page(hero + text))
    assert article.images[0].url == "https://news.example.com/img/house.jpg"
    assert "The house where the ceremony took place." in (article.images[0].caption or "")
    assert "The house where" not in article.body
    after_text = extract(
        page(
            "<div class='body'><img src='/img/a.jpg'>"
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
            + "</div><figcaption>A caption that belongs to no photo of this page.</figcaption>"
        )
    )
    assert "belongs to no photo" not in after_text.body
    assert all("belongs to no photo" not in (i.caption or "") for i in after_text.images)


def test_byline_leaves_the_body_and_names_the_author() -> None:
    byline = "<p class='byline'>By Jane Smith and John Doe</p>"
    article = extract(page(byline + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)))
    assert article.byline == "By Jane Smith and John Doe"
    assert article.authors == ["Jane Smith", "John Doe"]
    assert "Jane Smith" not in article.body


def test_structured_data_gives_date_authors_summary_tags_section() -> None:
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Example News"},
            {
                "@type": "NewsArticle",
                "headline": "Navy gets new patrol ships",
                "datePublished": "2024-05-14T09:30:00+02:00",
                "author": [{"@type": "Person", "name": "Jane Smith"}],
                "description": "Four ships for the coast guard.",
                "articleSection": "Defence",
                "keywords": ["navy", "shipbuilding"],
            },
        ],
    }
    head = f"<script type='application/ld+json'>{json.dumps(data)}</script>"
    article = extract(page("".join(f"<p>{p}</p>" for p in PARAGRAPHS), head=head))
    assert article.published_at == datetime(2024, 5, 14, 7, 30, tzinfo=UTC)
    assert article.published_raw == "2024-05-14T09:30:00+02:00"
    assert article.authors == ["Jane Smith"]
    assert article.summary == "Four ships for the coast guard."
    assert article.section == "Defence"
    assert article.tags == ["navy", "shipbuilding"]


def test_visible_date_when_nothing_structured_states_one() -> None:
    dated = "<p class='when'>Tuesday, May 14, 2024, 10:08</p>"
    tree = parse_html(
        HtmlResponse(
            url="https://x.example/a",
            body=page(dated + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)).encode(),
            encoding="utf-8",
        )
    )
    found = metadata(tree, CHINA)
    assert found.published_raw == "May 14, 2024, 10:08"
    assert found.published_at == datetime(2024, 5, 14, 2, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "site", "expected"),
    [
        ("Navy gets new patrol ships | Example News", (), "Navy gets new patrol ships"),
        (
            "Example News - Navy gets new patrol ships",
            ("Example News",),
            "Navy gets new patrol ships",
        ),
        ("八一锐评丨既问计于兵，也问绩于兵 - 中国军网", (), "八一锐评丨既问计于兵，也问绩于兵"),
        ("A title: with a colon", (), "A title: with a colon"),
    ],
)
def test_site_name_removed(title: str, site: tuple[str, ...], expected: str) -> None:
    assert site_name_removed(title, site) == expected


def test_language_from_the_page_or_its_script() -> None:
    assert language_of(html.fromstring("<html lang='vi-VN'><body></body></html>")) == "vi"
    bare = html.fromstring("<html><body></body></html>")
    assert language_of(bare, "Quân đội nhân dân Việt Nam tổ chức hội nghị tổng kết") == "vi"
    assert language_of(bare, "习主席强调，既问计于兵") == "zh"


def test_hostile_markup_is_text_not_code() -> None:
    hostile = [
        "The report quoted the string </script><script>alert(1)</script> found on the site, "
        "and a formula a=b+c that the engineers had left in a comment [x] 'quoted' \"twice\".",
        *PARAGRAPHS[1:],
    ]
    escaped = "".join(
        "<p>" + p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>"
        for p in hostile
    )
    article = extract(page(escaped), url="https://news.example.com/a b/[1]/'q'")
    assert article.body.split("\n\n") == hostile


def test_a_page_with_no_article_gives_no_body_and_a_huge_one_is_whole() -> None:
    tree = parse_html(
        HtmlResponse(url="https://x.example/", body=b"<html><body></body></html>", encoding="utf-8")
    )
    assert body(tree, "https://x.example/").blocks == []
    many = [
        f"Paragraph {i} of a very long report on the fleet, with enough words to count."
        for i in range(3000)
    ]
    article = extract(page("".join(f"<p>{p}</p>" for p in many)))
    assert article.body.split("\n\n") == many


def test_boilerplate_sentences() -> None:
    assert is_boilerplate_text("Advertisement")
    assert is_boilerplate_text("Read more: Navy chief visits the fleet")
    assert not is_boilerplate_text(
        "Read the full report, the minister told parliament, and you will see."
    )
    assert not is_boilerplate_text(PARAGRAPHS[0])


def test_the_parser_class_is_the_one_the_spiders_use() -> None:
    assert GenericSpider.parser is GenericParser
    assert GenericParser.version == "generic-1"


def test_a_centred_line_under_an_image_is_its_caption_unless_all_text_is_centred() -> None:
    centred = "style='text-align: center;'"
    image = f"<p {centred}><img src='/img/a.jpg'></p>"
    caption = f"<p {centred}>Sailors on the deck of the new ship.</p>"
    text = [f"<p>{p}</p>" for p in PARAGRAPHS]
    article = extract(page(text[0] + image + caption + text[1] + text[2]))
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.images[0].caption == "Sailors on the deck of the new ship."
    # A page that centres its text: the line is text.
    everything = [f"<p {centred}>{p}</p>" for p in PARAGRAPHS]
    article = extract(page(everything[0] + image + caption + everything[1] + everything[2]))
    assert "Sailors on the deck of the new ship." in article.body.split("\n\n")


# -- the seven replicas: the generic parser against each site's own --------------------


SITE_SPIDERS = {
    "qdnd.vn": "qdnd",
    "en.qdnd.vn": "qdnd_en",
    "bienphong.com.vn": "bienphong",
    "baohaiquanvietnam.vn": "haiquan",
    "tapchiqptd.vn": "tapchiqptd",
    "en.baochinhphu.vn": "baochinhphu_en",
    "81.cn": "pla_daily",
}


@pytest.mark.parametrize("site", sorted(SITE_SPIDERS))
def test_generic_matches_the_site_parser_on_its_replica(site: str) -> None:
    from crawler.commands._common import spider_class
    from crawler.mirror.replica import article_pages

    spider = spider_class(SITE_SPIDERS[site])()
    scores = []
    for url, path in article_pages(site):
        data = path.read_bytes()
        try:
            expected = clean(spider.extract(HtmlResponse(url, body=data)), check=True)
        except DropItem:
            continue  # a page the site itself does not archive (video, dead link)
        got = generic(data, url)
        assert got.title == expected.title, url
        scores.append(body_f1(expected.body, got.body))
    assert scores and statistics.median(scores) >= 0.95
    assert min(scores) >= 0.9


def test_a_figcaption_after_its_figure_goes_with_it() -> None:
    stray = (
        "<figure><img src='/img/floor.jpg'></figure><figcaption>FILE PHOTO: Traders on the "
        "floor of the exchange. REUTERS/Someone</figcaption>"
    )
    text = [f"<p>{p}</p>" for p in PARAGRAPHS]
    article = extract(page(text[0] + stray + text[1] + text[2]))
    assert article.body.split("\n\n") == PARAGRAPHS
    image = article.images[0]
    # (The shared credit rule reads "PHOTO: …" as a credit label: caption "FILE".)
    assert " ".join(filter(None, (image.caption, image.credit))).startswith("FILE")
    assert "Traders on the floor of the exchange" in (image.credit or "") + (image.caption or "")


def test_control_characters_beside_dropped_elements_are_read_not_fatal() -> None:
    # lxml keeps such characters from a page but refuses them when text is written back.
    first = f"<p>{PARAGRAPHS[0]}<script>x()</script> and\x01 more\x1f text</p>"
    article = extract(page(first + "".join(f"<p>{p}</p>" for p in PARAGRAPHS[1:])))
    assert "and more text" in article.body
    assert not any(ch in article.body for ch in "\x01\x1f")
