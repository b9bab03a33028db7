"""Datelines leave the lead; printed dates become UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.text.datelines import strip_dateline
from crawler.text.dates import CHINA, parse_dmy, parse_iso
from crawler.urls import canonical_url, site_of


@pytest.mark.parametrize(
    ("lead", "clean"),
    [
        ("QĐND - Sáng 16-1, Bộ CHQS tỉnh tổ chức lễ.", "Sáng 16-1, Bộ CHQS tỉnh tổ chức lễ."),
        ("(QĐND) - Sáng 16-1", "Sáng 16-1"),
        ("VGP - The Government", "The Government"),
        ("(QK7 Online) - Chiều 15-1", "Chiều 15-1"),
        ("TPO - Sáng nay", "Sáng nay"),
        ("QĐND Online – Sáng nay", "Sáng nay"),
        ("Sáng 16-1 - hội nghị", "Sáng 16-1 - hội nghị"),
        ("QĐNDx - not a tag", "QĐNDx - not a tag"),
    ],
)
def test_strip_dateline(lead: str, clean: str) -> None:
    assert strip_dateline(lead) == clean


def test_extra_dateline_tags() -> None:
    assert strip_dateline("BP - Sáng nay", ["BP"]) == "Sáng nay"


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("Thứ Sáu, 22/07/2022 - 10:15", datetime(2022, 7, 22, 3, 15, tzinfo=UTC)),
        ("16/01/2025 09:32:10", datetime(2025, 1, 16, 2, 32, 10, tzinfo=UTC)),
        ("10:15 22/07/2022", datetime(2022, 7, 22, 3, 15, tzinfo=UTC)),
        ("Thứ Tư, 01/01/2025 - 05:00", datetime(2024, 12, 31, 22, 0, tzinfo=UTC)),
        ("22/07/2022", datetime(2022, 7, 21, 17, 0, tzinfo=UTC)),
    ],
)
def test_parse_dmy_local_time_to_utc(text: str, utc: datetime) -> None:
    assert parse_dmy(text) == utc


def test_parse_dmy_rejects_nonsense() -> None:
    assert parse_dmy("32/13/2022 - 10:15") is None
    assert parse_dmy("no date here") is None
    assert parse_dmy(None) is None


def test_parse_iso() -> None:
    assert parse_iso("2025-01-16T09:00:00+07:00") == datetime(2025, 1, 16, 2, tzinfo=UTC)
    assert parse_iso("2025-01-16", CHINA) == datetime(2025, 1, 15, 16, tzinfo=UTC)
    assert parse_iso("yesterday") is None


def test_canonical_url() -> None:
    url = "http://qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-viet-812345/?utm_source=rss&utm_medium=feed#top"
    assert (
        canonical_url(url, "www.qdnd.vn")
        == "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-viet-812345"
    )
    assert (
        canonical_url("https://www.qdnd.vn/x?page=2&fbclid=abc") == "https://www.qdnd.vn/x?page=2"
    )
    assert site_of("https://www.qdnd.vn/x") == "qdnd.vn"
