"""A site that answers with a bot challenge is reported blocked; nothing of it is archived."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from conftest import DATA
from support import sitecheck
from support.blocked_spider import ModGovSpider

from crawler.crawling.middlewares import looks_like_challenge
from crawler.mirror.server import MirrorServer

CHALLENGE = DATA / "mod.gov.vn" / "robots-txt-cookie-challenge.html"


@pytest.fixture
def challenge_mirror(tmp_path: Path) -> Iterator[MirrorServer]:
    """A replica of mod.gov.vn where robots.txt and every page are the real challenge."""
    site = tmp_path / "sites" / "mod.gov.vn"
    (site / "pages" / "home").mkdir(parents=True)
    (site / "site.json").write_text(json.dumps({"hosts": ["mod.gov.vn"]}))
    shutil.copy(CHALLENGE, site / "pages" / "robots.txt")
    shutil.copy(CHALLENGE, site / "pages" / "home" / "news.html")
    with MirrorServer(root=tmp_path / "sites") as server:
        yield server


def test_the_real_challenge_is_recognised() -> None:
    assert looks_like_challenge(CHALLENGE.read_bytes())


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>An article that mentions document.cookie and location.reload in its text "
        + b"x" * 5000
        + b"</p></body></html>",
        b"User-agent: *\nDisallow: /preview/\n",
        b"<html><head><script>var a = 1;</script></head><body><h1>News</h1></body></html>",
    ],
)
def test_ordinary_pages_are_not_challenges(body: bytes) -> None:
    assert not looks_like_challenge(body)


@pytest_twisted.ensureDeferred
async def test_blocked_site_closes_with_reason_and_archives_nothing(
    challenge_mirror: MirrorServer, tmp_path: Path
) -> None:
    crawler = await sitecheck.crawl(challenge_mirror, tmp_path / "out", ModGovSpider)
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "blocked"
    assert stats["crawler/blocked"] == "mod.gov.vn"
    assert stats["log_count/ERROR"] >= 1
    assert not (tmp_path / "out" / "articles").exists()
    # The challenge served as robots.txt was not taken for an empty robots.txt:
    # the listing behind it was never parsed.
    assert not stats.get("crawler/discovery/listing_pages")


def test_crawl_command_exits_3_for_a_blocked_site(
    challenge_mirror: MirrorServer, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    done = subprocess.run(
        [
            sys.executable, "-m", "crawler.cli", "crawl", "modgov", "--out", str(tmp_path),
            "-s", "SPIDER_MODULES=crawler.sites,support.blocked_spider",
            "-s", f"CRAWLER_MIRROR_URL={challenge_mirror.base_url}", "-s", "DOWNLOAD_DELAY=0",
        ],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    assert "blocked: mod.gov.vn answered" in done.stderr
    assert not (tmp_path / "articles").exists()
