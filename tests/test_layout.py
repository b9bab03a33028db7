"""Layout tokens become image boundaries; boilerplate leaves; ordinary words stay."""

from __future__ import annotations

import pytest

from crawler.items import Image
from crawler.text.layout import (
    LayoutRules,
    blocks_from_flat_text,
    drop_boilerplate,
    drop_layout_tokens,
    is_boilerplate,
    strip_end_marker,
)


def test_token_on_own_line_captions_the_next_line() -> None:
    blocks, n = blocks_from_flat_text("Para one.\nleftcenterrightdel\nA caption.\n\nPara two.")
    assert blocks == ["Para one.", Image(caption="A caption."), "Para two."]
    assert n == 1


def test_token_glued_to_caption() -> None:
    blocks, _ = blocks_from_flat_text("leftcenterrightdelQuang cảnh hội nghị.\nBody.")
    assert blocks == [Image(caption="Quang cảnh hội nghị."), "Body."]


def test_token_followed_by_token_or_nothing_is_image_without_caption() -> None:
    blocks, n = blocks_from_flat_text("leftcenterrightdel\nleftcenterrightdel\nCaption two.")
    assert blocks == [Image(), Image(caption="Caption two.")]
    assert n == 2
    blocks, _ = blocks_from_flat_text("Body.\nleftcenterrightdel")
    assert blocks == ["Body.", Image()]
    blocks, _ = blocks_from_flat_text("leftcenterrightdel leftcenterrightdel Cap")
    assert blocks == [Image(), Image(caption="Cap")]


def test_blank_line_after_token_body_paragraph_stays_body() -> None:
    # After a blank line the next paragraph is a caption only if it reads like one
    # (tests/test_flat_text.py); this one does not.
    blocks, _ = blocks_from_flat_text("leftcenterrightdel\n\nA paragraph of body text.")
    assert blocks == [Image(), "A paragraph of body text."]


def test_token_glued_after_text_splits_the_line() -> None:
    blocks, _ = blocks_from_flat_text("End of a paragraph.leftcenterrightdelCaption")
    assert blocks == ["End of a paragraph.", Image(caption="Caption")]


def test_spaced_toolbar_words_alone_are_a_token() -> None:
    blocks, n = blocks_from_flat_text("left center right del\nThe caption")
    assert blocks == [Image(caption="The caption")]
    assert n == 1


@pytest.mark.parametrize(
    "sentence",
    [
        "Turn left at the center, then right.",
        "The left flank, the center and the right wing held.",
        "He was left centre-right, delighted.",
        "left center right delegates voted",
        "Words: left, center, right, del.",
    ],
)
def test_ordinary_words_are_never_touched(sentence: str) -> None:
    blocks, n = drop_layout_tokens([sentence])
    assert blocks == [sentence]
    assert n == 0


def test_structured_blocks_tokens_in_paragraphs_and_captions() -> None:
    blocks, n = drop_layout_tokens(
        [
            "Body.",
            "leftcenterrightdel",
            "Caption text",
            Image(url="u", caption="leftcenterrightdel Cap"),
        ]
    )
    assert blocks == ["Body.", Image(caption="Caption text"), Image(url="u", caption="Cap")]
    assert n == 2


@pytest.mark.parametrize(
    "line",
    [
        "* Mời bạn đọc vào chuyên mục Quốc phòng an ninh xem các tin, bài liên quan.",
        "*Mời bạn đọc vào chuyên mục Kinh tế xem các tin, bài liên quan.",
        "* Mời bạn đọc vào chuyên mục Phóng sự Điều tra xem các tin, bài liên quan.",
        "* Chuyên mục Quân sự thế giới hôm nay trên Báo Quân đội nhân dân Điện tử gửi tới bạn đọc"
        " thông tin mới nhất về các hoạt động an ninh, quốc phòng quân sự thế giới trong 24 giờ qua.",
        "./.",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "* Trước đó, các đơn vị đã tổ chức cấp phát đầy đủ chế độ.",
        "*Chiều cùng ngày, Trung tướng Trương Thiên Tô dẫn đầu đoàn công tác.",
        "Mời bạn đọc theo dõi diễn biến trận đấu.",
    ],
)
def test_real_paragraphs_starting_with_star_stay(line: str) -> None:
    assert not is_boilerplate(line)


def test_end_marker() -> None:
    assert strip_end_marker("Hội nghị kết thúc./.") == "Hội nghị kết thúc."
    assert strip_end_marker("Hội nghị kết thúc. ./.") == "Hội nghị kết thúc."
    assert strip_end_marker("Path a./.b stays") == "Path a./.b stays"
    blocks, removed = drop_boilerplate(["One.", "Two./.", "./."])
    assert blocks == ["One.", "Two."]
    assert removed == 2


def test_site_rules_merge_with_shared_ones() -> None:
    rules = LayoutRules.build(tokens=[r"\[photo\]"], boilerplate=[r"Bài viết, video.*"])
    blocks, n = drop_layout_tokens(["Text [photo] Cap"], rules)
    assert blocks == ["Text", Image(caption="Cap")]
    assert n == 1
    kept, removed = drop_boilerplate(
        ["Body.", "Bài viết, video, hình ảnh đóng góp …", "./."], rules
    )
    assert kept == ["Body."]
    assert removed == 2
