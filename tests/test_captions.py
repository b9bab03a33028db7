"""Photo credits leave captions, as printed, without label or brackets."""

from __future__ import annotations

import pytest

from crawler.items import Image
from crawler.text.captions import separate_credit, split_credit


@pytest.mark.parametrize(
    ("raw", "caption", "credit"),
    [
        ("Tàu do thám Zagros của Iran. Ảnh: IRNA", "Tàu do thám Zagros của Iran.", "IRNA"),
        (
            "Giá vàng trong nước tăng. Ảnh: dantri.com.vn",
            "Giá vàng trong nước tăng.",
            "dantri.com.vn",
        ),
        ("Lễ ký kết (Ảnh: Trọng Đức/TTXVN)", "Lễ ký kết", "Trọng Đức/TTXVN"),
        ("Lễ ký kết. (Ảnh: Trọng Đức/TTXVN).", "Lễ ký kết.", "Trọng Đức/TTXVN"),
        (
            "Tàu hộ vệ lớp Grisha của Hải quân Nga. Ảnh: Bộ Quốc phòng Nga",
            "Tàu hộ vệ lớp Grisha của Hải quân Nga.",
            "Bộ Quốc phòng Nga",
        ),
        ("Quà của lính. Ảnh: KIM LUẬN", "Quà của lính.", "KIM LUẬN"),
        ("Ảnh: QUANG ĐỨC", None, "QUANG ĐỨC"),
        ("Quang cảnh hội nghị.", "Quang cảnh hội nghị.", None),
        ("Ảnh tư liệu về trận đánh năm 1975.", "Ảnh tư liệu về trận đánh năm 1975.", None),
        ("Soldiers at drill. Photo: VNA", "Soldiers at drill.", "VNA"),
        (None, None, None),
    ],
)
def test_split_credit(raw: str | None, caption: str | None, credit: str | None) -> None:
    assert split_credit(raw) == (caption, credit)


def test_separate_credit_keeps_a_credit_the_markup_gave() -> None:
    image = Image(url="u", caption="Caption. Ảnh: A", credit="B")
    assert separate_credit(image)
    assert image == Image(url="u", caption="Caption.", credit="B")
    plain = Image(caption="No credit here")
    assert not separate_credit(plain)
    assert plain.credit is None
