"""One vocabulary across commands: ``--site`` as spider name or domain, ``--since``/``--until``
as the site's local day, ``--archive``/``--out``, ``-s``, one log level, ``--excel``."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.synthetic import synthetic_row
from crawler.archive import ArchiveWriter
from crawler.cli import build_parser, main
from crawler.commands._common import spider_name, spider_of_domain
from crawler.items import sha256_hex
from crawler.mirror.server import SITES_ROOT

RUN = "20260101T000000Z-vocab"
PAGE = "quoc-phong-an-ninh/xay-dung-quan-doi/thiet-ke-tu-tam-nang-tam-chat-luong-812203.html"
# (site, spider, url, published at, in UTC): the first two are on 2025-03-02 in Vietnam
# (UTC+7) but on 2025-03-01 in UTC; the third on 2025-03-02 in China (UTC+8) and in UTC.
ROWS = (
    ("qdnd.vn", "qdnd", "https://www.qdnd.vn/a/tin-1", datetime(2025, 3, 1, 18, tzinfo=UTC)),
    ("qdnd.vn", "qdnd", "https://www.qdnd.vn/a/tin-2", datetime(2025, 3, 1, 16, 59, tzinfo=UTC)),
    ("81.cn", "pla_daily", "http://www.81.cn/a/3.html", datetime(2025, 3, 2, 3, tzinfo=UTC)),
    ("example.org", "generic", "https://example.org/news/4", datetime(2025, 3, 2, 1, tzinfo=UTC)),
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vocab") / "archive"
    rng = random.Random(5)
    with ArchiveWriter(root, RUN) as writer:
        for n, (site, spider, url, published) in enumerate(ROWS):
            row = synthetic_row(rng, n, published, RUN)
            row.update(site=site, spider=spider, url=url, title=f"Tiêu đề {n} 中文标题")
            row["url_key"] = sha256_hex(url)
            writer.add(row)
    return root


def export_urls(archive: Path, tmp_path: Path, *extra: str) -> list[str]:
    import json

    target = tmp_path / "out.jsonl"
    assert main(["export", "--archive", str(archive), "-o", str(target), *extra]) == 0
    return sorted(json.loads(line)["url"] for line in target.read_text("utf-8").splitlines())


@pytest.mark.parametrize("site", ["qdnd", "qdnd.vn", "www.qdnd.vn", "https://www.qdnd.vn/"])
def test_site_is_a_spider_name_or_a_domain(archive: Path, tmp_path: Path, site: str) -> None:
    urls = export_urls(archive, tmp_path, "--site", site)
    assert urls == ["https://www.qdnd.vn/a/tin-1", "https://www.qdnd.vn/a/tin-2"]


def test_a_site_only_in_the_archive_is_a_domain(archive: Path, tmp_path: Path) -> None:
    assert export_urls(archive, tmp_path, "--site", "example.org") == ["https://example.org/news/4"]


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--site", "qdnd.com"],
        ["compact", "--site", "nosuch", "--dry-run"],
        ["reextract", "--site", "nosuch"],
        ["inspect", "--site", "nosuch"],
        ["sample", "--site", "nosuch"],
    ],
)
def test_an_unknown_site_is_one_line_naming_the_known(
    archive: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--archive", str(archive)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "unknown site" in err
    assert "qdnd (qdnd.vn)" in err and "pla_daily (81.cn)" in err
    assert "example.org" in err  # what the archive holds besides the spiders' sites


def test_since_until_are_the_sites_local_days(archive: Path, tmp_path: Path) -> None:
    day = ["--since", "2025-03-02", "--until", "2025-03-02"]
    assert export_urls(archive, tmp_path, *day) == [
        "http://www.81.cn/a/3.html",
        "https://example.org/news/4",  # no spider: the generic spider's zone (UTC+7)
        "https://www.qdnd.vn/a/tin-1",  # 01:00 on 2 March in Hanoi
    ]
    earlier = ["--since", "2025-03-01", "--until", "2025-03-01"]
    assert export_urls(archive, tmp_path, *earlier) == ["https://www.qdnd.vn/a/tin-2"]


def test_excel_csv_starts_with_a_bom_and_keeps_the_text(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    argv = ["export", "--archive", str(archive), "--format", "csv", "--excel", "-o", str(target)]
    assert main(argv) == 0
    data = target.read_bytes()
    assert data.startswith(b'\xef\xbb\xbf"url"')
    text = data[3:].decode("utf-8")
    assert "Tiêu đề 0 中文标题" in text and "\ufeff" not in text
    plain = tmp_path / "plain.csv"
    assert main([*argv[:-3], "-o", str(plain)]) == 0
    assert plain.read_bytes() == data[3:]  # the BOM is the only difference


def test_excel_needs_csv(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--archive", str(archive), "--excel"]) == 2
    assert "--excel goes with --format csv" in capsys.readouterr().err


def test_compact_rows_per_file_and_the_old_spelling(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compact", "--archive", str(archive), "--dry-run", "--rows-per-file", "0"]) == 2
    assert "--rows-per-file must be at least 1" in capsys.readouterr().err
    assert main(["compact", "--archive", str(archive), "--dry-run", "--max-rows", "10"]) == 0
    assert "--max-rows is now --rows-per-file" in capsys.readouterr().err


def test_one_option_vocabulary() -> None:
    parser = build_parser()
    for name in ("crawl qdnd", "crawl-all", "demo", "reextract"):
        argv = [*name.split(), "--out", "x", "-s", "A=1"]
        args = parser.parse_args(argv)
        assert args.archive == Path("x") and args.set == ["A=1"]
        assert args.log_level == "WARNING"  # one default
    assert parser.parse_args(["demo", "--log-level", "info"]).log_level == "INFO"
    with pytest.raises(SystemExit):
        parser.parse_args(["crawl", "qdnd", "--log-level", "LOUD"])
    for name in ("inspect", "sample", "export", "sql x", "validate", "compact", "report --html r"):
        assert parser.parse_args([*name.split(), "--archive", "y"]).archive == Path("y")


def test_a_spider_by_its_domain(capsys: pytest.CaptureFixture[str]) -> None:
    assert spider_name("qdnd.vn") == "qdnd" == spider_name("qdnd")
    assert spider_of_domain("https://www.81.cn/") == "pla_daily"
    assert spider_of_domain("en.qdnd.vn") == "qdnd_en"
    assert spider_of_domain("example.org") is None
    html = SITES_ROOT / "qdnd.vn" / "pages" / PAGE
    url = "https://www.qdnd.vn/" + PAGE.removesuffix(".html")
    assert main(["extract", "qdnd.vn", str(html), "--url", url]) == 0
    assert '"spider": "qdnd"' in capsys.readouterr().out
    assert main(["extract", "qdnd.com", str(html), "--url", url]) == 2
    assert "unknown spider 'qdnd.com'; known: " in capsys.readouterr().err


def test_crawl_all_takes_archive_and_settings_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "crawl.toml"
    config.parent.mkdir()
    config.write_text('[run]\narchive = "in-the-file"\n[defaults]\nmax_pages = 500\n[sites.qdnd]\n')
    elsewhere = tmp_path / "other archive"
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl-all", "--config", str(config), "--replica",
         "--out", str(elsewhere), "-s", "CLOSESPIDER_PAGECOUNT=3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert f"  archive: {elsewhere}\n" in done.stdout, done.stdout + done.stderr[-2000:]
    assert not (config.parent / "in-the-file").exists()
    [manifest] = (elsewhere / "_runs").glob("*.json")
    entry = json.loads(manifest.read_text())["sites"]["qdnd"]
    # -s wins over the site's own max_pages (500, CLOSESPIDER_PAGECOUNT too): the spider
    # stopped after a few pages (and those in flight), far from the replica's end.
    assert entry["stats"]["finish_reason"] == "closespider_pagecount"
