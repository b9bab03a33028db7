"""`crawler demo --generic`: every replica crawled by its site spider and by the generic
spider started at its home page; the generic one must find nine articles in ten, with the
same titles and bodies (median body F1 at least 0.95)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from crawler.mirror.replica import replica_sites


@pytest.fixture(scope="module")
def comparison() -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--generic", "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {site["site"]: site for site in json.loads(done.stdout)}


def test_every_replica_is_compared(comparison: dict[str, dict[str, Any]]) -> None:
    assert sorted(comparison) == replica_sites()
    for site in comparison.values():
        assert site["by_site"] >= 10  # every replica has at least ten articles


@pytest.mark.parametrize("site", replica_sites())
def test_the_generic_spider_matches_the_site_spider(
    comparison: dict[str, dict[str, Any]], site: str
) -> None:
    found = comparison[site]
    assert found["found_share"] >= 0.9, found
    assert found["title_share"] >= 0.95, found
    assert found["median_body_f1"] >= 0.95, found


def test_the_table_has_a_line_per_site() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--generic"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert lines[1].split() == [
        "site",
        "site",
        "spider",
        "generic",
        "both",
        "found",
        "titles",
        "median",
        "body",
        "F1",
    ]
    assert [line.split()[0] for line in lines[2:-1]] == replica_sites()


def test_json_goes_with_generic() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--json"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "crawler demo: error: --json goes with --generic"
