"""Closing credit lines: recognised in every printed form, names title-cased."""

from __future__ import annotations

import pytest

from crawler.text.bylines import parse_byline, split_byline, title_case


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("Tin, ảnh: SƠN BÌNH", ["Sơn Bình"]),
        ("Bài, ảnh: VĂN ĐẢM", ["Văn Đảm"]),
        ("Bài và ảnh: VŨ ĐÌNH ĐÔNG", ["Vũ Đình Đông"]),
        ("Tin và ảnh: NGUYỄN HỒNG KỶ", ["Nguyễn Hồng Kỷ"]),
        ("Tin, ảnh: TIẾN DŨNG-VĂN CHUNG", ["Tiến Dũng", "Văn Chung"]),
        ("Tin, ảnh: XUÂN CƯỜNG – THÁI PHƯƠNG", ["Xuân Cường", "Thái Phương"]),
        ("Tin, ảnh: DIỆU ANH - PHẠM HƯNG", ["Diệu Anh", "Phạm Hưng"]),
        ("Tin, ảnh: KHẮC TÂM, MINH TUẤN", ["Khắc Tâm", "Minh Tuấn"]),
        ("Tin: NGUYỄN VĂN A và TRẦN B", ["Nguyễn Văn A", "Trần B"]),
        ("Tin, ảnh: Sơn Bình", ["Sơn Bình"]),
        ("PHAN TUỆ", ["Phan Tuệ"]),
        ("HỒ KIÊN GIANG", ["Hồ Kiên Giang"]),
        ("CHÍNH LÂN (thực hiện)", ["Chính Lân"]),
        ("QUỲNH OANH (tổng hợp)", ["Quỳnh Oanh"]),
        ("TTXVN", ["TTXVN"]),
        ("Trọng Đức/TTXVN", ["Trọng Đức", "TTXVN"]),
        ("Đại tá HOÀNG TUẤN, Viện trưởng Viện Thiết kế, Tổng cục Hậu cần", ["Hoàng Tuấn"]),
        ("Thiếu tướng, PGS, TS NGUYỄN VĂN MINH", ["Nguyễn Văn Minh"]),
        ("By HONG PHUC", ["Hong Phuc"]),
        ("Translated by MINH ANH", ["Minh Anh"]),
        ("By Hong Phuc and Minh Anh", ["Hong Phuc", "Minh Anh"]),
        ("Senior Colonel NGUYEN VAN HUNG", ["Nguyen Van Hung"]),
    ],
)
def test_bylines(line: str, authors: list[str]) -> None:
    assert parse_byline(line) == authors


@pytest.mark.parametrize(
    "line",
    [
        "Nhân dịp này, Đại tướng Phan Văn Giang đã tặng quà, chúc Tết Bộ tư lệnh Quân khu 5.",
        "Một số hình ảnh tại phiên chợ nhân ái “Gieo yêu thương - Đón Tết ấm”:",
        "Giá vàng SJC tăng mạnh",
        "Đội tuyển VIỆT NAM giành chiến thắng",
        "* Trước đó, các đơn vị đã tổ chức cấp phát đầy đủ chế độ.",
        "Theo TTXVN",
        "By the end of the year, the army had grown.",
        "Bypass roads opened",
        "",
    ],
)
def test_body_lines_are_not_bylines(line: str) -> None:
    assert parse_byline(line) is None


def test_split_byline_takes_only_the_last_paragraph() -> None:
    paragraphs, byline, authors = split_byline(["One.", "TRẦN HOÀI", "Two.", "Tin, ảnh: VĂN TOẢN"])
    assert paragraphs == ["One.", "TRẦN HOÀI", "Two."]
    assert byline == "Tin, ảnh: VĂN TOẢN"
    assert authors == ["Văn Toản"]
    assert split_byline(["Only body."]) == (["Only body."], None, [])


def test_title_case() -> None:
    assert title_case("SƠN BÌNH") == "Sơn Bình"
    assert title_case("ĐĂNG TOÀN") == "Đăng Toàn"
    assert title_case("VNA") == "VNA"
