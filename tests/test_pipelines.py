"""Each pipeline step on structured and flattened input, with its stats."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import Article, Image
from crawler.pipelines import CLEANING_STEPS, clean
from crawler.pipelines.byline import ExtractByline
from crawler.pipelines.captions import SeparateCaptions
from crawler.pipelines.dedupe import Deduplicate
from crawler.pipelines.layout import DropLayoutTokens
from crawler.pipelines.normalise import NormaliseText
from crawler.pipelines.validate import Validate


def article(**fields: object) -> Article:
    base: dict[str, object] = {
        "url": "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345",
        "site": "qdnd.vn",
        "spider": "qdnd",
        "language": "vi",
        "title": "Tiêu đề",
    }
    base.update(fields)
    return Article(**base)  # type: ignore[arg-type]


@pytest.fixture
def stats():  # type: ignore[no-untyped-def]
    crawler = get_crawler()
    crawler.stats.open_spider()
    return crawler.stats


def run(step: type, item: Article, stats: object) -> Article:
    result: Article = step(stats).process_item(item)
    return result


def test_structured_article_through_every_step(stats: object) -> None:
    item = article(
        summary="QĐND - Sáng 16-1,\u00a0đơn vị tổ chức lễ.",
        blocks=[
            Image(url="https://file3.qdnd.vn/a.jpg", caption="Quang cảnh buổi lễ. Ảnh: TTXVN"),
            "Đoạn\u200b một.",
            "leftcenterrightdel",
            "Chú thích ảnh hai.",
            "Đoạn hai./.",
            "Tin, ảnh: VĂN TOẢN",
            "* Mời bạn đọc vào chuyên mục Quốc phòng an ninh xem các tin, bài liên quan.",
        ],
    )
    for step in (*CLEANING_STEPS, Validate, Deduplicate):
        item = run(step, item, stats)
    assert item.body == "Đoạn một.\n\nĐoạn hai."
    assert item.images == [
        Image(url="https://file3.qdnd.vn/a.jpg", caption="Quang cảnh buổi lễ.", credit="TTXVN"),
        Image(caption="Chú thích ảnh hai."),
    ]
    assert item.byline == "Tin, ảnh: VĂN TOẢN"
    assert item.authors == ["Văn Toản"]
    assert item.summary == "Sáng 16-1, đơn vị tổ chức lễ."
    values = stats.get_stats()  # type: ignore[attr-defined]
    assert values["crawler/layout/tokens_dropped"] == 1
    assert values["crawler/layout/boilerplate_dropped"] == 2
    assert values["crawler/captions/captions_moved"] == 2
    assert values["crawler/captions/credits_found"] == 1
    assert values["crawler/byline/found"] == 1
    assert values["crawler/byline/datelines_dropped"] == 1
    assert values["crawler/validate/passed"] == 1


def test_flattened_article_through_the_same_steps(stats: object) -> None:
    item = article(flat_text="leftcenterrightdel\nẢnh một.\n\nThân bài.\n\nPHAN TUỆ")
    for step in CLEANING_STEPS:
        item = run(step, item, stats)
    assert item.body == "Thân bài."
    assert item.images == [Image(caption="Ảnh một.")]
    assert item.byline == "PHAN TUỆ"
    assert item.flat_text is None


def test_normalise_step_touches_every_text_field(stats: object) -> None:
    item = run(
        NormaliseText,
        article(
            title=" Ti\u0301tle ",
            section=" ",
            tags=[" a ", "", "b\u00ad"],
            blocks=[" x ", "\u200b", Image(caption="\u00a0")],
        ),
        stats,
    )
    assert item.title == "Títle"
    assert item.section is None
    assert item.tags == ["a", "b"]
    assert item.blocks == ["x", Image()]


def test_tokens_in_title_are_dropped(stats: object) -> None:
    item = run(DropLayoutTokens, article(title="leftcenterrightdel Tiêu đề", blocks=["x"]), stats)
    assert item.title == "Tiêu đề"


def test_byline_step_keeps_images_and_spider_byline(stats: object) -> None:
    item = run(
        ExtractByline, article(blocks=["Body.", Image(url="u"), "Tin, ảnh: SƠN BÌNH"]), stats
    )
    assert item.blocks == ["Body.", Image(url="u")]
    assert item.authors == ["Sơn Bình"]
    other = run(ExtractByline, article(blocks=["Body only."]), stats)
    assert other.byline is None
    assert stats.get_value("crawler/byline/not_found") == 1  # type: ignore[attr-defined]


def test_captions_step_moves_images_out_of_body(stats: object) -> None:
    item = run(
        SeparateCaptions,
        article(blocks=["a", Image(url="1"), "b", Image(url="2", caption="c")]),
        stats,
    )
    assert item.blocks == ["a", "b"]
    assert [image.url for image in item.images] == ["1", "2"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": ""}, "no_title"),
        ({"blocks": []}, "no_body"),
        ({"blocks": [Image(url="x")]}, "no_body"),
    ],
)
def test_validate_drops_half_empty_articles_with_reason(
    stats: object, fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(DropItem, match=reason.replace("_", " ")):
        Validate(stats).process_item(article(**fields))
    assert stats.get_value(f"crawler/validate/dropped/{reason}") == 1  # type: ignore[attr-defined]


def test_deduplicate_drops_second_copy(stats: object) -> None:
    step = Deduplicate(stats)
    step.process_item(article(blocks=["x"]))
    with pytest.raises(DropItem, match="duplicate"):
        step.process_item(article(blocks=["y"]))
    assert stats.get_value("crawler/dedupe/duplicates") == 1  # type: ignore[attr-defined]


def test_non_articles_pass_through(stats: object) -> None:
    for step in (*CLEANING_STEPS, Validate, Deduplicate):
        assert step(stats).process_item({"a": 1}) == {"a": 1}


def test_clean_without_scrapy_counts_nothing() -> None:
    item = clean(article(blocks=["Body.", "TRẦN HOÀI"]), check=True)
    assert item.authors == ["Trần Hoài"]
    with pytest.raises(DropItem):
        clean(article(title=""), check=True)
