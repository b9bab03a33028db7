"""A site cannot point the crawler at a private address, by name, by redirect or by IP literal.

Names are answered by a resolver with a fake table (tests/support/fake_dns.py), never by
real DNS; every address in the table is one of this machine's, where the fault
server listens (tests/support/faultserver.py). ``www.news.test`` plays the site,
``intranet.news.test`` (the unspecified address 0.0.0.0, which on Linux
reaches the services listening on loopback) the private service behind it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import scrapy
from scrapy.crawler import CrawlerRunner
from support.faultserver import FaultServer

from crawler.archive import read_table
from crawler.crawling.netguard import parse_networks, refusal
from crawler.crawling.runner import project_settings

TESTS = Path(__file__).parent
NAMES = {"www.news.test": "127.0.0.1", "intranet.news.test": "0.0.0.0"}


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


# -- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "shared"),
        ("192.0.0.8", "reserved"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),  # unique-local
        ("fd12:3456::1", "private"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "127.0.0.1 is loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "10.0.0.1 is private"),
        ("2002:7f00:1::1", "127.0.0.1 is loopback (in 2002:7f00:1::1)"),  # 6to4
        ("64:ff9b::7f00:1", "reserved"),  # NAT64
        ("::127.0.0.1", "reserved"),  # IPv4-compatible
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo
        ("localhost", "not an IP address"),
        ("127.1", "not an IP address"),  # a resolver turns it into 127.0.0.1 first
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, kind: str) -> None:
    why = refusal(address)
    assert why is not None and kind in why


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


def test_allowed_networks() -> None:
    allowed = parse_networks("127.0.0.0/8, 10.0.0.0/8,,fd00::/8")
    assert len(allowed) == 3
    assert refusal("127.0.0.1", allowed) is None
    assert refusal("::ffff:127.0.0.2", allowed) is None  # the same address on the wire
    assert refusal("10.20.30.40", allowed) is None
    assert refusal("fd00::5", allowed) is None
    assert refusal("192.168.1.1", allowed) == "192.168.1.1 is private"
    assert refusal("127.0.0.1", parse_networks(["::/0"])) == "127.0.0.1 is loopback"
    assert parse_networks("") == () and parse_networks([]) == ()
    for bad in ("10.0.0.0/33", "localhost", "10.0.0.0/8;rm"):
        with pytest.raises(ValueError, match="CRAWLER_ALLOW_PRIVATE_NETWORKS"):
            parse_networks(bad)


def test_a_bad_allowed_network_is_one_line(tmp_path: Path) -> None:
    done = crawler(
        "crawl", "qdnd", "--out", str(tmp_path), "-s", "CRAWLER_ALLOW_PRIVATE_NETWORKS=x"
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "CRAWLER_ALLOW_PRIVATE_NETWORKS" in lines[0], lines


def test_the_guard_is_on_by_default() -> None:
    settings = project_settings()
    assert settings.get("TWISTED_DNS_RESOLVER") == "crawler.crawling.netguard.PublicOnlyResolver"
    assert "crawler.crawling.netguard.PrivateAddressMiddleware" in settings.getdict(
        "DOWNLOADER_MIDDLEWARES"
    )
    assert settings.get("CRAWLER_ALLOW_PRIVATE_NETWORKS") == ""


# -- IP literals and the names a resolver reads as numbers, in-process ------------------------


class Probe(scrapy.Spider):
    """One request, to whatever host it is given (no allowed_domains: no offsite filter)."""

    name = "probe"

    def __init__(self, *args: Any, url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url = url

    async def start(self) -> Any:
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response: Any) -> None:
        self.crawler.stats.inc_value("probe/fetched")


async def probe(url: str, tmp_path: Path, **settings: Any) -> dict[str, Any]:
    base = {"LOG_LEVEL": "WARNING", "ROBOTSTXT_OBEY": False, "RETRY_TIMES": 0}
    runner = CrawlerRunner(
        project_settings({**base, "CRAWLER_ARCHIVE_DIR": str(tmp_path), **settings})
    )
    crawler = runner.create_crawler(Probe)
    await runner.crawl(crawler, url=url)
    stats: dict[str, Any] = crawler.stats.get_stats()
    return stats


# Each one reaches the fault server on 127.0.0.1 when allowed (test below).
REACHING = ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f.1", "0.0.0.0"]


@pytest.mark.parametrize("host", [*REACHING, "[::ffff:127.0.0.1]", "[::1]"])
@pytest_twisted.ensureDeferred
async def test_ip_literals_are_refused(host: str, faults: FaultServer, tmp_path: Path) -> None:
    stats = await probe(f"http://{host}:{faults.port}/a/ok-1", tmp_path)
    assert stats.get("crawler/private_address/refused") == 1
    assert "probe/fetched" not in stats
    assert faults.hits == {}


@pytest.mark.parametrize("host", REACHING)
@pytest_twisted.ensureDeferred
async def test_the_same_literals_reach_the_server_when_allowed(
    host: str, faults: FaultServer, tmp_path: Path
) -> None:
    allowed = {"CRAWLER_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,0.0.0.0/32"}
    stats = await probe(f"http://{host}:{faults.port}/a/ok-1", tmp_path, **allowed)
    assert stats.get("probe/fetched") == 1
    assert "crawler/private_address/refused" not in stats
    assert len(faults.hits["/a/ok-1"]) == 1


# -- names, through the command line and the project's resolver --------------------------


def crawler(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def crawl_named(
    server: FaultServer, out: Path, *settings: str, names: dict[str, str] = NAMES
) -> subprocess.CompletedProcess[str]:
    pairs = [
        "SPIDER_MODULES=crawler.sites,support.fault_spider",
        f"FAULT_BASE=http://www.news.test:{server.port}",
        "TWISTED_DNS_RESOLVER=support.fake_dns.FakeNames",
        f"FAKE_DNS={json.dumps(names)}",
        "DOWNLOAD_DELAY=0",
        "AUTOTHROTTLE_ENABLED=False",
        "RETRY_TIMES=1",
        "CRAWLER_RETRY_BACKOFF=0.1",
        *settings,
    ]
    sets = [arg for pair in pairs for arg in ("-s", pair)]
    return crawler("crawl", "named", "--out", str(out), "--log-level", "INFO", *sets)


def stat(done: subprocess.CompletedProcess[str], key: str) -> int:
    """A stat from the dump Scrapy logs when the spider closes."""
    match = re.search(rf"'{re.escape(key)}': (\d+)", done.stderr)
    return int(match.group(1)) if match else 0


def test_a_name_that_resolves_to_loopback_is_refused(faults: FaultServer, tmp_path: Path) -> None:
    done = crawl_named(faults, tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert faults.hits == {}  # not even robots.txt
    assert stat(done, "crawler/private_address/refused") == 1
    assert "(host www.news.test): 127.0.0.1 is loopback, not a public address" in done.stderr
    assert "named: finished; 0 articles archived, 0 dropped, 1 errors" in done.stderr
    assert not (tmp_path / "articles").exists()


def test_a_redirect_to_a_private_name_is_refused(faults: FaultServer, tmp_path: Path) -> None:
    """The site is allowed (as a site on an intranet would be); its redirect to another name
    under its domain, resolving to 0.0.0.0, is not."""
    done = crawl_named(faults, tmp_path, "CRAWLER_ALLOW_PRIVATE_NETWORKS=127.0.0.1/32")
    assert done.returncode == 1, done.stderr[-3000:]
    assert faults.hosts["www.news.test"] >= 4  # robots.txt, the listing, three articles
    assert "intranet.news.test" not in faults.hosts
    assert "/a/ok-4004" not in faults.hits
    assert stat(done, "crawler/private_address/refused") == 1
    assert "0.0.0.0 is unspecified" in done.stderr
    urls = {row["url"].rsplit("/", 1)[1] for row in read_table(tmp_path).to_pylist()}
    assert urls == {"ok-4001", "ok-4002"}


def test_everything_is_fetched_when_the_networks_are_allowed(
    faults: FaultServer, tmp_path: Path
) -> None:
    """The control: the same crawl reaches the 'private service' when nothing refuses it."""
    done = crawl_named(faults, tmp_path, "CRAWLER_ALLOW_PRIVATE_NETWORKS=127.0.0.1/32,0.0.0.0/32")
    assert done.returncode == 0, done.stderr[-3000:]
    assert faults.hosts["intranet.news.test"] >= 1
    assert read_table(tmp_path).num_rows == 3


def test_the_resolver_refuses_without_the_middleware(faults: FaultServer, tmp_path: Path) -> None:
    """The second line: where the connection looks the name up. Without the middleware's
    check (and so for a name whose answer changes between the two lookups), the connection
    is still refused."""
    middlewares = project_settings().getdict("DOWNLOADER_MIDDLEWARES")
    middlewares["crawler.crawling.netguard.PrivateAddressMiddleware"] = None
    done = crawl_named(faults, tmp_path, f"DOWNLOADER_MIDDLEWARES={json.dumps(middlewares)}")
    assert done.returncode == 1, done.stderr[-3000:]
    assert faults.hits == {}
    assert "refused to connect to www.news.test: 127.0.0.1 is loopback" in done.stderr
    assert stat(done, "crawler/errors/download") >= 1


def test_the_replica_needs_no_allowance(tmp_path: Path) -> None:
    """With CRAWLER_MIRROR_URL every request goes to the replica on 127.0.0.1: no check."""
    from crawler.mirror.server import MirrorServer

    with MirrorServer() as server:
        done = crawler(
            "crawl", "qdnd", "--out", str(tmp_path), "--until", "2023-01-31",
            "--log-level", "CRITICAL", "-s", f"CRAWLER_MIRROR_URL={server.base_url}",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_table(tmp_path).num_rows >= 1
