"""crawl.toml lists a site with no code: one `spider = "generic"` entry and its start URLs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.archive import read_table
from crawler.mirror.server import SITES_ROOT
from crawler.runs.config import ConfigError, load_config

TESTS = Path(__file__).parent

TWO_GENERIC_SITES = """
[run]
archive = "archive"

[defaults.alarm]
min_date = 0.0              # what this checks is the configuration, not the generic dates

[sites.bienphong_generic]
spider = "generic"
start = ["https://www.bienphong.com.vn/"]

[sites.en_qdnd_generic]
spider = "generic"
start = ["https://en.qdnd.vn/"]
max_pages = 400
"""


def crawler(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )  # fmt: skip


def replica_articles(site: str) -> set[str]:
    manifest = json.loads((SITES_ROOT / site / "manifest.json").read_text("utf-8"))
    return {article["url"] for article in manifest["articles"]}


def test_two_generic_sites_run_side_by_side_each_with_its_own_entry(tmp_path: Path) -> None:
    path = tmp_path / "crawl.toml"
    path.write_text(TWO_GENERIC_SITES, "utf-8")
    done = crawler("crawl-all", "--config", str(path), "--replica", "--log-level", "WARNING")
    manifests = list((tmp_path / "archive" / "_runs").glob("*.json"))
    assert len(manifests) == 1, done.stderr[-2000:]
    manifest = json.loads(manifests[0].read_text("utf-8"))
    assert manifest["planned"] == ["bienphong_generic", "en_qdnd_generic"]
    rows = read_table(tmp_path / "archive", columns=["url", "site", "spider"]).to_pylist()
    assert {row["spider"] for row in rows} == {"generic"}
    for name, site in (
        ("bienphong_generic", "bienphong.com.vn"),
        ("en_qdnd_generic", "en.qdnd.vn"),
    ):
        entry = manifest["sites"][name]
        own = {row["url"] for row in rows if row["site"] == site}
        assert entry["spider"] == "generic"
        assert entry["articles_new"] == len(own) > 0  # its own rows, not the other site's
        assert entry["start"] == list(load_config(path).sites[0 if "bien" in name else 1].start)
        expected = replica_articles(site)
        assert len(own & expected) >= 0.8 * len(expected), name  # the replica lists dead pages too
        assert own <= expected
    assert "bienphong_generic" in done.stdout and "en_qdnd_generic" in done.stdout
    assert done.returncode in (0, 4), done.stderr[-2000:]  # 4: an alarm on the extraction


def test_generic_entries_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "crawl.toml"
    path.write_text(TWO_GENERIC_SITES + "[sites.qdnd]\n", "utf-8")
    config = load_config(path)
    first, second, qdnd = config.sites
    assert (first.label, first.spider, first.start) == (
        "bienphong_generic", "generic", ("https://www.bienphong.com.vn/",),
    )  # fmt: skip
    assert first.spider_args() == {"start": ["https://www.bienphong.com.vn/"]}
    assert second.max_pages == 400
    assert (qdnd.label, qdnd.spider, qdnd.start, qdnd.spider_args()) == ("qdnd", "qdnd", (), {})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[sites.x]\nspider = "generic"\n', 'spider = "generic" needs start = ['),
        ("[sites.generic]\n", 'spider = "generic" needs start = ['),
        ('[sites.x]\nspider = "generic"\nstart = []\n', "needs start"),
        (
            '[sites.x]\nspider = "generic"\nstart = ["ftp://a.vn/"]\n',
            "'ftp://a.vn/' is not an http(s) URL",
        ),
        ('[sites.x]\nspider = "generic"\nstart = [1]\n', "needs start"),
        ('[sites.qdnd]\nstart = ["https://a.vn/"]\n', 'start URLs go with spider = "generic"'),
        ("[sites.x]\nspider = 3\n", "[sites.x].spider: expected a spider's name"),
        ('[defaults]\nstart = ["https://a.vn/"]\n[sites.qdnd]\n', "unknown key 'start'"),
        (
            '[sites.a]\nspider = "generic"\nstart = ["https://a.vn/"]\n'
            '[sites.b]\nspider = "generic"\nstart = ["https://a.vn/"]\n',
            "the same start URLs as another site",
        ),
    ],
)
def test_a_wrong_generic_entry_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "crawl.toml"
    path.write_text(table, "utf-8")
    with pytest.raises(ConfigError, match=None) as raised:
        load_config(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_generic_start_without_a_replica_is_one_line_with_replica(tmp_path: Path) -> None:
    path = tmp_path / "crawl.toml"
    path.write_text(
        '[run]\narchive = "a"\n[sites.x]\nspider = "generic"\nstart = ["https://www.example.com/"]\n'
    )
    done = crawler("crawl-all", "--config", str(path), "--replica")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "no bundled replica for https://www.example.com/ (replica hosts: " in done.stderr


def test_the_shipped_configuration_shows_a_generic_entry() -> None:
    text = (TESTS.parent / "crawl.toml").read_text("utf-8")
    example = "\n".join(
        line.removeprefix("# ") for line in text.splitlines() if line.startswith("# [sites.") or
        line.startswith(("# spider =", "# start ="))
    )  # fmt: skip
    assert '[sites.example]\nspider = "generic"\nstart = ["https://www.example.com/"]' in example
