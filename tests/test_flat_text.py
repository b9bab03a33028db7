"""Flattened text as real pages give it: a layout token alone as a paragraph, the
caption as the next paragraph; and the lead's source tag.

The real cases are the 28 real qdnd.vn bodies flattened in that form
(``tests/fixtures/real/qdnd.vn/``, see its PROVENANCE.md): what is a caption
and what is body is read off the markup, not off the code under test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crawler.items import Article, Image
from crawler.pipelines import CLEANING_STEPS, clean
from crawler.pipelines.captions import SeparateCaptions
from crawler.text.captions import split_credit
from crawler.text.datelines import strip_dateline
from crawler.text.flat_captions import looks_like_caption
from crawler.text.layout import DEFAULT_RULES, blocks_from_flat_text, is_boilerplate
from crawler.text.normalise import normalise
from tests.support.strategies import hard_text

REAL = Path(__file__).parent / "fixtures/real/qdnd.vn"
FLAT = REAL / "flat"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FLAT / "expected.json").read_text("utf-8"))
TOKEN = "leftcenterrightdel"


def _flatten_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flatten", REAL / "flatten.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cleaned(text: str) -> Article:
    return clean(Article(url="", site="", spider="", language="", flat_text=text))


def paragraphs_of(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


# -- the real cases -------------------------------------------------------------------


def test_the_flattened_fixtures_are_the_real_bodies_flattened() -> None:
    """The committed texts are exactly what flatten.py makes of the real bodies."""
    files = _flatten_module().build()
    assert len(EXPECTED) == 28
    for name, text in files.items():
        assert (FLAT / name).read_text("utf-8") == text, name
    # And the form is the one the issue describes: the token alone, the caption next.
    text = (FLAT / "01.txt").read_text("utf-8")
    assert text.startswith(f"{TOKEN}\n\nĐại tá Đinh Hồng Tiếng, Chỉ huy trưởng")


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_real_captions_after_a_token_paragraph_leave_the_body(key: str) -> None:
    expected = EXPECTED[key]
    text = (FLAT / f"{key}.txt").read_text("utf-8")
    article = cleaned(text)

    # One image per token, each with its own caption or none: never a body paragraph.
    assert len(article.images) == len(expected["captions"])
    taken = []
    for picture, caption in zip(article.images, expected["captions"], strict=True):
        got = (picture.caption, picture.credit)
        if got != (None, None):
            assert caption and got == split_credit(caption)
        taken.append(got != (None, None))

    # Nothing lost: the body is every body paragraph in order, plus any caption
    # that was not recognised, where it stood.
    body: list[str] = []
    image = -1
    after_token = False
    for paragraph in paragraphs_of(text):
        if paragraph == TOKEN:
            image += 1
            after_token = True
            continue
        is_caption = after_token and paragraph == expected["captions"][image]
        after_token = False
        if is_caption and taken[image]:
            continue
        if paragraph == expected["byline"] or paragraph in expected["trailers"]:
            continue
        body.append(paragraph)
    assert article.paragraphs == body
    assert article.byline == expected["byline"]
    assert TOKEN not in article.body


def test_nine_in_ten_real_captions_are_taken() -> None:
    """Measured: 128 of the 136 captions (before: only the 11 ending with a credit)."""
    total = taken = 0
    for key, expected in EXPECTED.items():
        article = cleaned((FLAT / f"{key}.txt").read_text("utf-8"))
        total += sum(1 for caption in expected["captions"] if caption)
        taken += sum(1 for image in article.images if image.caption or image.credit)
    assert total == 136
    assert taken >= 0.9 * total


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_real_body_paragraphs_after_uncaptioned_images_stay_body(key: str) -> None:
    """The same real articles with every caption deleted: each image is then followed
    by the real paragraph the page prints after it, and that paragraph stays body."""
    expected = EXPECTED[key]
    kept: list[str] = []
    after_token = False
    image = -1
    for paragraph in paragraphs_of((FLAT / f"{key}.txt").read_text("utf-8")):
        if paragraph == TOKEN:
            image += 1
        elif after_token and paragraph == expected["captions"][image]:
            after_token = False
            continue
        after_token = paragraph == TOKEN
        kept.append(paragraph)
    article = cleaned("\n\n".join(kept))
    assert article.images == [Image() for _ in expected["captions"]]
    assert article.paragraphs == expected["paragraphs"]
    assert article.byline == expected["byline"]


# -- what a caption looks like ------------------------------------------------------------

# Real captions (file of tests/fixtures/real/qdnd.vn/flat/ in the comment), and the
# issue's own example of the form.
CAPTIONS = [
    "Đại tá Đinh Hồng Tiếng, Chỉ huy trưởng Bộ CHQS tỉnh Đắk Nông phát biểu.",  # 01
    "Quang cảnh hội nghị.",  # 28
    "Thiếu tướng, TS, TTND Trần Quốc Việt, Bí thư Đảng ủy, Giám đốc Bệnh viện Quân y 175 thăm hỏi,"
    " động viên người bệnh tại phiên chợ.",  # 16
    "Cán bộ, chiến sĩ Lữ đoàn Pháo Phòng không 226, Quân khu 9 huấn luyện, sẵn sàng chiến đấu.",  # 22
    "Đại tá Lê Đức Nghĩa (thứ ba từ phải sang) kiểm tra hoạt động khám bệnh.",  # 19
    "Quà của lính. Ảnh: KIM LUẬN",  # 22
    "FA-50 là phiên bản phái sinh của T-50 Golden Eagle, máy bay huấn luyện siêu thanh đầu tiên"
    " của Hàn Quốc, sau này phát triển thành các biến thể có khả năng chiến đấu, như TA-50 và"
    " FA-50. Ảnh: KAI",  # 23
    "Trần Tuấn Anh, viết đơn xung phong nhập ngũ năm 2025, anh thường xuyên học hỏi kinh nghiệm"
    " của các thế hệ đi trước đã từng trải qua quân ngũ. (Trong ảnh: Trần Tuấn Anh trao đổi với"
    " đồng chí Đinh Quang Mạnh, chuyên trách Quân sự Ban CHQS Công ty Tuyển Than Cửa Ông-TKV).",  # 06
    "Ảnh: QUANG ĐỨC",  # a credit alone credits the photo
    "Các đồng chí: Thiếu tướng …, Tư lệnh Quân đoàn 1; … đồng chủ trì Tọa đàm …",  # issue 13
    "Lãnh đạo TP. Hồ Chí Minh thăm đơn vị.",  # an abbreviation's full stop ends no sentence
]

# Real body paragraphs (file in the comment) of the kinds that are short like captions.
BODY = [
    # narrates (đã, vừa, sẽ)
    "Năm 2023, Vùng 2 Hải quân đã tiếp nhận, quản lý, huấn luyện hơn 500 hạ sĩ quan, binh sĩ"
    " đến từ các tỉnh, thành phố trong cả nước.",  # 11
    "Trong tương lai, FA-50 sẽ được nâng cấp hệ thống radar mảng pha quét điện tử chủ động"
    " (AESA), tích hợp tên lửa ngoài tầm nhìn và khả năng tác chiến điện tử.",  # 23
    # a circumstance before the subject
    "Tại hội nghị, đại diện Văn phòng Tổng cục Chính trị báo cáo tóm tắt đề xuất phương án sáp"
    " nhập Bảo hiểm xã hội Bộ Quốc phòng và Cục Chính sách.",  # 28
    "Với chủ đề “Mừng Đảng, mừng Xuân”, đợt thi đua diễn ra từ ngày 16-1 đến ngày 3-2-2025.",  # 20
    "Chỉ đạo một số việc cần làm ngay, Thủ tướng yêu cầu Bộ Công Thương khẩn trương điều chỉnh,"
    " bổ sung quy hoạch cần thiết, hoàn thành trước ngày 28-2.",  # 27
    # who attended
    "Cùng dự có Phó thủ tướng Bùi Thanh Sơn, Phó trưởng ban Thường trực Ban chỉ đạo; lãnh đạo"
    " các bộ, ngành, địa phương là thành viên Ban chỉ đạo.",  # 27
    "Dự chương trình có: Đại tá Lê Đức Nghĩa, Phó chính ủy Bộ Chỉ huy Bộ đội Biên phòng (BĐBP)"
    " tỉnh Điện Biên và đại biểu đại diện chính quyền địa phương.",  # 19
    # figures
    "DOJI tại thị trường Hà Nội và TP Hồ Chí Minh điều chỉnh tăng 200.000 đồng giá mua và bán"
    " lên lần lượt 84,8 triệu đồng/lượng và 86,3 triệu đồng/lượng.",  # 24
    # two sentences
    "Năm 2025, Lữ đoàn Pháo binh 6 (Quân khu 9) có gần 100 chiến sĩ xuất ngũ tiết kiệm phụ cấp"
    " gửi về gia đình. Tổng số tiền tiết kiệm từ phụ cấp được hơn 600 triệu đồng.",  # 12
    # sub-headings, a list's introduction, a data-table row
    "Giá vàng thế giới hôm nay",  # 24
    "* Iran trang bị tàu do thám Zagros",  # 23
    "Dưới đây là một số hình ảnh của tuyến phố ẩm thực Nguyễn Văn Tuyết gấp rút chuẩn bị ra"
    " mắt tới đây:",  # 21
    "DOJI Hà Nội 84,4 86,4 84,6 86,6 +200 +200",  # 24
    # bylines and trailers
    "Tin, ảnh: VĂN TOẢN",  # 01
    "Bài và ảnh: VŨ ĐÌNH ĐÔNG",  # 10
    "PHAN TUỆ",  # 11
    "* Mời bạn đọc vào chuyên mục Quốc phòng an ninh xem các tin, bài liên quan.",  # 01
    # a lead: the source tag says so
    "QĐND - Sáng 16-1, Bộ CHQS tỉnh Đắk Nông tổ chức Lễ tiễn quân nhân.",
    # long: body whatever it ends with
    "Báo cáo trung tâm và các ý kiến tại hội nghị đều nhấn mạnh: 6 tháng đầu năm 2022, Tổng cục"
    " Công nghiệp quốc phòng đã tập trung lãnh đạo, chỉ đạo và triển khai toàn diện, đồng bộ các"
    " mặt công tác và hoàn thành tốt các nhiệm vụ được giao.",  # the seed
    "x" * 400 + " Ảnh: TTXVN",
    # not Vietnamese, no credit: short English body sentences look like captions
    "The ministry said the drills would continue next week.",
    "Police used a ram to force open the door.",
    "",
]


@pytest.mark.parametrize("paragraph", CAPTIONS)
def test_a_caption_is_recognised_by_its_shape(paragraph: str) -> None:
    assert looks_like_caption(paragraph)
    blocks, _ = blocks_from_flat_text(f"Thân bài.\n\n{TOKEN}\n\n{paragraph}\n\nThân bài sau.")
    assert blocks == ["Thân bài.", Image(caption=paragraph), "Thân bài sau."]


@pytest.mark.parametrize("paragraph", BODY)
def test_a_body_paragraph_after_an_uncaptioned_image_stays_body(paragraph: str) -> None:
    assert not looks_like_caption(paragraph)
    blocks, _ = blocks_from_flat_text(f"Thân bài.\n\n{TOKEN}\n\n{paragraph}\n\nThân bài sau.")
    assert blocks == ["Thân bài.", Image(), *([paragraph] if paragraph else []), "Thân bài sau."]


def test_token_paragraph_forms() -> None:
    caption = "Quang cảnh hội nghị."
    # Several blank lines, or white space on them, still separate paragraphs only.
    blocks, n = blocks_from_flat_text(f"{TOKEN}\n\n \n\n{caption}\n\nThân bài.")
    assert (blocks, n) == ([Image(caption=caption), "Thân bài."], 1)
    # Two images, the first with no caption: the caption is the second one's.
    blocks, n = blocks_from_flat_text(f"{TOKEN}\n\n{TOKEN}\n\n{caption}")
    assert (blocks, n) == ([Image(), Image(caption=caption)], 2)
    # The token glued to the end of a paragraph, then a blank line.
    blocks, _ = blocks_from_flat_text(f"Thân bài.{TOKEN}\n\n{caption}")
    assert blocks == ["Thân bài.", Image(caption=caption)]
    # The adjacent-line form (the seed's) keeps taking the next line, whatever it is.
    blocks, _ = blocks_from_flat_text(f"{TOKEN}\nNăm 2023, đơn vị đã tiếp nhận 500 chiến sĩ.")
    assert blocks == [Image(caption="Năm 2023, đơn vị đã tiếp nhận 500 chiến sĩ.")]
    # A token last, or a caption-like paragraph with no token before it: nothing changes.
    assert blocks_from_flat_text(f"Thân bài.\n\n{TOKEN}")[0] == ["Thân bài.", Image()]
    assert blocks_from_flat_text(f"Thân bài.\n\n{caption}")[0] == ["Thân bài.", caption]


def test_a_byline_after_an_uncaptioned_image_is_the_byline() -> None:
    """Flattened or structured: ``Tin, ảnh: NAME`` credits the text too, so it is the
    article's byline (it used to become a caption ``Tin`` credited to the name)."""
    article = cleaned(f"Thân bài.\n\n{TOKEN}\n\nTin, ảnh: VĂN TOẢN")
    assert article.images == [Image()]
    assert (article.body, article.byline, article.authors) == (
        "Thân bài.",
        "Tin, ảnh: VĂN TOẢN",
        ["Văn Toản"],
    )
    structured = Article(
        url="",
        site="",
        spider="",
        language="",
        blocks=["Thân bài.", Image(url="u"), "Bài và ảnh: VŨ ĐÌNH ĐÔNG"],
    )
    SeparateCaptions().apply(structured)
    assert structured.images == [Image(url="u")]
    assert structured.blocks == ["Thân bài.", "Bài và ảnh: VŨ ĐÌNH ĐÔNG"]
    # A credit alone still credits the photo above it.
    structured = Article(
        url="", site="", spider="", language="", blocks=[Image(url="u"), "Ảnh: QUANG ĐỨC"]
    )
    SeparateCaptions().apply(structured)
    assert structured.images == [Image(url="u", credit="QUANG ĐỨC")]


# -- the lead's source tag --------------------------------------------------------------

LEAD = "Sáng 16-1, tại Hà Nội, hội nghị khai mạc."


class Counts(dict[str, int]):
    """The one method of Scrapy's stats collector that the cleaning steps call."""

    def inc_value(self, key: str, n: int = 1) -> None:
        self[key] = self.get(key, 0) + n


@pytest.mark.parametrize(
    "tag",
    [
        "QĐND - ",
        "(QĐND) - ",
        "QĐND Online - ",
        "VGP - ",
        "(QK7 Online) - ",
        "TPO - ",
        "BP - ",
        "TTXVN – ",
        "QĐND-",
    ],
)
def test_the_lead_of_flattened_text_loses_its_source_tag(tag: str) -> None:
    article = cleaned(f"{tag}{LEAD}\n\nVGP - Thân bài thứ hai.\n\nTin, ảnh: VĂN TOẢN")
    assert article.paragraphs == [LEAD, "VGP - Thân bài thứ hai."]  # the lead only
    assert article.byline == "Tin, ảnh: VĂN TOẢN"


def test_the_lead_is_the_first_paragraph_after_images() -> None:
    article = cleaned(f"{TOKEN}\n\nQuang cảnh hội nghị.\n\n(QĐND) - {LEAD}\n\nThân bài.")
    assert article.images == [Image(caption="Quang cảnh hội nghị.")]
    assert article.paragraphs == [LEAD, "Thân bài."]


def test_a_lead_without_a_tag_is_left_alone_and_drops_are_counted() -> None:
    for text in (f"{LEAD}\n\nThân bài.", "Hà Nội - Đà Nẵng là tuyến đường sắt.\n\nThân bài."):
        assert cleaned(text).body == text
    stats = Counts()
    article = Article(url="", site="", spider="", language="", flat_text=f"QĐND - {LEAD}")
    for step in CLEANING_STEPS:
        step(stats).apply(article)
    assert article.body == LEAD
    assert stats["crawler/layout/datelines_dropped"] == 1


def test_crawler_clean_command_handles_the_token_paragraph_form(tmp_path: Path) -> None:
    path = tmp_path / "bài [1] * ?.txt"
    path.write_text(
        f"QĐND - {LEAD}\n\n{TOKEN}\n\n"
        "Các đồng chí: Thiếu tướng …, Tư lệnh Quân đoàn 1; … đồng chủ trì Tọa đàm …\n\n"
        f"Phát biểu tại tọa đàm, các đại biểu đã nêu nhiều ý kiến.\n\n{TOKEN}\n\n"
        "Tại hội nghị, các đại biểu thảo luận.\n\nTin, ảnh: VĂN TOẢN\n",
        "utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "clean", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "body": f"{LEAD}\n\nPhát biểu tại tọa đàm, các đại biểu đã nêu nhiều ý kiến.\n\n"
        "Tại hội nghị, các đại biểu thảo luận.",
        "images": [
            {
                "url": None,
                "caption": "Các đồng chí: Thiếu tướng …, Tư lệnh Quân đoàn 1; … đồng chủ trì Tọa đàm …",
                "credit": None,
            },
            {"url": None, "caption": None, "credit": None},
        ],
        "byline": "Tin, ảnh: VĂN TOẢN",
        "authors": ["Văn Toản"],
    }


# -- properties -----------------------------------------------------------------------


def _one_paragraph(text: str) -> str:
    return normalise(text)


@given(hard_text(max_pieces=8).map(_one_paragraph))
@example("Quang cảnh hội nghị.")
@example("Tin, ảnh: VĂN TOẢN")
@example("* Mời bạn đọc vào chuyên mục Quốc phòng an ninh xem các tin, bài liên quan.")
def test_the_paragraph_after_a_token_paragraph_is_kept_whole_either_way(paragraph: str) -> None:
    """Caption or body, the paragraph is never lost nor changed; only what reads like a
    caption (and is no boilerplate) becomes one."""
    if not paragraph or DEFAULT_RULES.token.search(paragraph) or TOKEN in paragraph.lower():
        return
    blocks, _ = blocks_from_flat_text(f"{TOKEN}\n\n{paragraph}")
    if looks_like_caption(paragraph) and not is_boilerplate(paragraph):
        assert blocks == [Image(caption=paragraph)]
    else:
        assert blocks == [Image(), paragraph]
    if len(paragraph) > 300:
        assert blocks == [Image(), paragraph]


@given(hard_text(max_pieces=8), st.sampled_from(["", "QĐND - ", "(VGP) - ", "BP – "]))
@example("/." * 2000, "")  # the lead ended with the end marker "./.", which goes too
def test_only_the_leads_source_tag_goes(rest: str, tag: str) -> None:
    """Cleaning flattened text changes the lead at most by its source tag, and the
    other paragraphs not at all (no token, caption or byline in the way)."""
    rest = normalise(rest)
    if not rest or "left" in rest.lower() or rest.startswith("*") or "./." in rest:
        return  # a token, a trailer, the end marker: other rules at work
    lead = f"{tag}{rest}"
    article = cleaned(f"{lead}\n\nĐoạn hai.\n\nĐoạn ba.")
    first = normalise(lead)
    assert article.paragraphs[0] == strip_dateline(first)
    assert first.endswith(article.paragraphs[0])
    assert article.paragraphs[1:] == ["Đoạn hai.", "Đoạn ba."]
