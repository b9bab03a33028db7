"""HTML body to blocks: image tables in every known shape, paragraphs in order."""

from __future__ import annotations

import pytest
from lxml import html

from crawler.items import Article, Block, Image
from crawler.pipelines import clean
from crawler.sites.blocks import blocks_from_element

BASE = "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-800001"


def blocks(markup: str) -> list[Block]:
    return blocks_from_element(html.fromstring(f"<div>{markup}</div>"), BASE)


IMG = '<img class="imgtelerik" src="/data/a.jpg">'


@pytest.mark.parametrize(
    ("markup", "caption"),
    [
        # 2024-on: img row, caption row holding bare text, p > span or h2 > span.
        (f"<table><tr><td>{IMG}</td></tr><tr><td>Bare caption</td></tr></table>", "Bare caption"),
        (
            f"<table><tr><td>{IMG}</td></tr><tr><td><p><span>In p span</span></p></td></tr></table>",
            "In p span",
        ),
        (
            f"<table><tr><td>{IMG}</td></tr><tr><td><h2><span>In h2</span></h2></td></tr></table>",
            "In h2",
        ),
        (f"<table><tr><td>{IMG}</td></tr><tr><td>\u00a0</td></tr></table>", None),
        # Up to 2023: table.imgEditor, toolbar row in any shape, caption em > span.
        (
            f'<table class="imgEditor"><tr><td>{IMG}</td></tr>'
            "<tr><td><span>left</span><span>center</span><span>right</span><span>del</span></td></tr>"
            '<tr class="alt_imgEditor"><td><em><span>Old caption</span></em></td></tr></table>',
            "Old caption",
        ),
        (
            f'<table class="imgEditor"><tr><td>{IMG}</td></tr>'
            "<tr><td>left</td><td>center</td><td>right</td><td>del</td></tr>"
            "<tr><td><em><span>Cells toolbar</span></em></td></tr></table>",
            "Cells toolbar",
        ),
        (
            f'<table class="imgEditor"><tr><td>{IMG}</td></tr>'
            "<tr><td><div>left</div>\n<div>center</div>\n<div>right</div>\n<div>del</div></td></tr>"
            "<tr><td><em><span>Divs toolbar</span></em></td></tr></table>",
            "Divs toolbar",
        ),
        (f"<table><tr><td>{IMG}<br><em>Same cell</em></td></tr></table>", "Same cell"),
        (f"<table><tr><td>Caption first</td></tr><tr><td>{IMG}</td></tr></table>", "Caption first"),
        (
            f"<table><tr><td><table><tr><td>{IMG}</td></tr><tr><td>Nested</td></tr></table></td></tr></table>",
            "Nested",
        ),
        (f"<figure>{IMG}<figcaption>Figure caption</figcaption></figure>", "Figure caption"),
    ],
)
def test_image_table_shapes(markup: str, caption: str | None) -> None:
    found = blocks(markup)
    assert len(found) == 1
    image = found[0]
    assert isinstance(image, Image)
    assert image.url == "https://www.qdnd.vn/data/a.jpg"
    assert (image.caption.strip() if image.caption else None) == caption


def test_order_paragraphs_images_and_data_tables() -> None:
    found = blocks(
        "<p>One <a href='/tag/x-1.html'>link</a> two.</p>"
        f"<table><tr><td>{IMG}</td></tr><tr><td>Cap</td></tr></table>"
        "<h2>Heading</h2>"
        "<table border='1'><tr><td><p>Vàng</p></td><td>Mua</td></tr><tr><td>SJC</td><td>84,6</td></tr></table>"
        "<ul><li>Item</li></ul><p><strong>Tin, ảnh: A</strong></p>"
    )
    assert found == [
        "One link two.",
        Image(url="https://www.qdnd.vn/data/a.jpg", caption="Cap"),
        "Heading",
        "Vàng | Mua",
        "SJC | 84,6",
        "Item",
        "Tin, ảnh: A",
    ]


def test_br_inside_paragraph_keeps_one_paragraph_loose_br_splits() -> None:
    assert blocks("<p>Line one.<br/>\nLine two.</p>") == ["Line one. \nLine two."]
    assert blocks("Loose one.<br>Loose two.") == ["Loose one.", "Loose two."]


def test_script_style_and_comments_never_reach_text() -> None:
    found = blocks(
        "<p>Text<script>var x = 1;</script><style>p{}</style><!-- c --> more</p><script>alert(1)</script>"
    )
    assert found == ["Text more"]


def test_glued_token_after_upper_case_text_is_still_a_token() -> None:
    article = Article(
        url=BASE,
        site="qdnd.vn",
        spider="qdnd",
        language="vi",
        title="t",
        flat_text="Body text.\nTin, ảnh: SƠN BÌNHleftcenterrightdelCaption",
    )
    clean(article)
    assert article.images == [Image(caption="Caption")]
    assert article.byline == "Tin, ảnh: SƠN BÌNH"
