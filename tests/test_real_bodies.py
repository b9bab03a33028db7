"""The 28 real qdnd.vn article bodies (2025 layout): every caption out, every paragraph in.

Expectations are derived from the HTML here with plain XPath, independently of
the extraction code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html
from support.real_bodies import expected_parts

from crawler.items import Article
from crawler.pipelines import clean
from crawler.sites.blocks import blocks_from_element

FRAGMENTS = sorted(
    (Path(__file__).parent.parent / "replicas/sources/qdnd.vn/article_body_fragments").glob(
        "*.html"
    )
)
BASE = "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-viet-800001"


def cleaned(path: Path) -> Article:
    root = html.fromstring(path.read_text("utf-8"))
    article = Article(
        url=BASE,
        site="qdnd.vn",
        spider="qdnd",
        language="vi",
        title="t",
        blocks=blocks_from_element(root, BASE),
    )
    return clean(article, check=True)


def test_all_28_bodies_are_here() -> None:
    assert len(FRAGMENTS) == 28


def test_136_captions_in_all_land_in_images() -> None:
    total = 0
    for path in FRAGMENTS:
        article = cleaned(path)
        total += sum(1 for image in article.images if image.caption)
    assert total == 136


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: p.name)
def test_real_body(path: Path) -> None:
    article = cleaned(path)
    captions, paragraphs, byline, trailers = expected_parts(path)

    # Every image, every caption: in images, none in body.
    root = html.fromstring(path.read_text("utf-8"))
    assert len(article.images) == len(root.xpath(".//img"))
    got = [" ".join(filter(None, (image.caption, image.credit))) for image in article.images]
    body_paragraphs = article.body.split("\n\n")
    for caption in captions:
        assert any(caption.replace("Ảnh: ", "") == g or caption == g for g in got), caption
        if caption not in paragraphs:  # 04.html repeats its lead paragraph as a caption
            assert caption not in article.body
    assert all(
        image.url and image.url.startswith("https://file3.qdnd.vn/") for image in article.images
    )

    # Every paragraph in order.
    position = 0
    for paragraph in paragraphs:
        found = article.body.find(paragraph, position)
        assert found >= 0, f"missing or out of order: {paragraph[:80]}"
        position = found + len(paragraph)

    # Byline out of the body, into byline and authors; trailers gone.
    assert article.byline == byline
    assert article.authors and all(name not in body_paragraphs[-1] for name in article.authors)
    assert byline not in body_paragraphs
    for trailer in trailers:
        assert trailer not in article.body
    assert "leftcenterrightdel" not in article.body
