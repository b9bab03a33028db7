"""crawl-all as an operator runs it: runs in a row, the lock, a layout change, a blocked site."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import DATA

from crawler.archive import read_table
from crawler.generic.parser import GenericParser
from crawler.mirror.server import SITES_ROOT, MirrorServer
from crawler.runs.lock import run_lock

TESTS = Path(__file__).parent


def config(
    tmp_path: Path, server: MirrorServer, sites: str = "[sites.qdnd]\n", **settings: str
) -> Path:
    extra = "".join(f', {key} = "{value}"' for key, value in settings.items())
    path = tmp_path / "crawl.toml"
    path.write_text(
        f'[run]\narchive = "archive"\n'
        f'settings = {{ CRAWLER_MIRROR_URL = "{server.base_url}", DOWNLOAD_DELAY = 0, '
        f"AUTOTHROTTLE_ENABLED = false{extra} }}\n"
        f"[defaults.alarm]\nmin_found_ratio = 0.5\n{sites}"
    )
    return path


def crawl_all(path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl-all", "--config", str(path), "--log-level", "WARNING"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    manifests = sorted(
        (path.parent / "archive" / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime
    )
    return done, json.loads(manifests[-1].read_text()) if manifests else None


def test_two_runs_in_a_row(mirror: MirrorServer, tmp_path: Path) -> None:
    path = config(tmp_path, mirror)
    first, manifest = crawl_all(path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert manifest is not None
    qdnd = manifest["sites"]["qdnd"]
    assert qdnd["status"] == "ok"
    assert qdnd["articles_new"] == 35
    assert qdnd["pages_fetched"] > 35
    assert qdnd["errors"] == 0 and not qdnd["blocked"]
    assert manifest["exit_status"] == 0
    assert "qdnd" in first.stdout and "ok" in first.stdout

    second, manifest = crawl_all(path)
    assert second.returncode == 0, second.stdout
    assert manifest is not None
    qdnd = manifest["sites"]["qdnd"]
    assert qdnd["articles_new"] == 0
    assert qdnd["skipped_known"] == 35
    assert qdnd["pages_fetched"] < 20
    assert len(list((tmp_path / "archive" / "_runs").glob("*.json"))) == 2


def test_a_second_run_while_one_holds_the_lock_exits_at_once(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    path = config(tmp_path, mirror)
    with run_lock(tmp_path / "archive" / "_runs" / "crawl-all.lock"):
        done, manifest = crawl_all(path)
    assert done.returncode == 5
    assert "another crawl-all run holds" in done.stderr
    assert f"pid {os.getpid()}" in done.stderr
    assert manifest is None


def crawl_changed_layout(
    tmp_path: Path, change: Callable[[str], str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """crawl-all over a copy of the qdnd.vn replica with ``change`` made to every page:
    the run and its qdnd entry, which must be an alarm (exit 4)."""
    sites = tmp_path / "sites"
    shutil.copytree(SITES_ROOT / "qdnd.vn", sites / "qdnd.vn")
    for page in (sites / "qdnd.vn" / "pages").rglob("*.html"):
        page.write_text(change(page.read_text("utf-8")), "utf-8")
    with MirrorServer(root=sites) as server:
        done, manifest = crawl_all(config(tmp_path, server))
    assert done.returncode == 4, done.stderr[-2000:]
    assert manifest is not None
    qdnd: dict[str, Any] = manifest["sites"]["qdnd"]
    assert qdnd["status"] == "alarm"
    return done, qdnd


def test_layout_change_raises_the_alarm(tmp_path: Path) -> None:
    done, qdnd = crawl_changed_layout(
        tmp_path, lambda text: text.replace('class="post-title"', 'class="article-heading"')
    )
    # The generic parser found the titles: the articles are archived, and say how.
    assert qdnd["articles_new"] == 35
    assert qdnd["generic_fallback"] == {"articles": 35, "title": 35, "body": 0, "date": 0}
    assert qdnd["stats"]["crawler/generic/fallback/title"] == 35
    assert qdnd["health"]["fallback"] == 35
    expected = "generic fallback: 100% (35 of 35) needed the generic parser"
    assert any(problem.startswith(expected) for problem in qdnd["alarm"])
    assert f"qdnd: layout alarm: {expected}" in done.stdout
    archive = tmp_path / "archive"
    rows = read_table(archive, columns=["title", "parser_version"]).to_pylist()
    assert {row["parser_version"] for row in rows} == {f"1+{GenericParser.version}"}
    assert all(row["title"] for row in rows)
    # The other commands take the new parser_version form.
    checked = cli("validate", "--archive", str(archive))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = cli("reextract", "--archive", str(archive), "--outdated")
    assert again.returncode == 0 and "nothing to re-parse" in again.stderr
    again = cli("reextract", "--archive", str(archive), "--spider-version", "1")
    assert again.returncode == 0, again.stderr
    assert "35 stored pages re-parsed, 0 rows written, 35 unchanged" in again.stderr


def test_layout_change_nobody_can_read_is_still_the_title_alarm(tmp_path: Path) -> None:
    done, qdnd = crawl_changed_layout(
        tmp_path,
        lambda text: re.sub(
            r"<h1[^>]*>.*?</h1>|<title>.*?</title>|<meta [^>]*>|<script[^>]*>.*?</script>",
            "",
            text,
            flags=re.S,
        ),
    )
    assert qdnd["articles_new"] == 0
    assert qdnd["dropped"]["no_title"] == 35
    assert any(problem.startswith("title: 0% (0 of 35)") for problem in qdnd["alarm"])
    assert "qdnd: layout alarm: title: 0% (0 of 35)" in done.stdout
    assert not (tmp_path / "archive" / "articles").exists()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_blocked_site(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    (sites / "mod.gov.vn" / "pages" / "home").mkdir(parents=True)
    (sites / "mod.gov.vn" / "site.json").write_text(json.dumps({"hosts": ["mod.gov.vn"]}))
    challenge = DATA / "mod.gov.vn" / "robots-txt-cookie-challenge.html"
    shutil.copy(challenge, sites / "mod.gov.vn" / "pages" / "robots.txt")
    shutil.copy(challenge, sites / "mod.gov.vn" / "pages" / "home" / "news.html")
    with MirrorServer(root=sites) as server:
        path = config(
            tmp_path,
            server,
            "[sites.modgov]\n",
            SPIDER_MODULES="crawler.sites,support.blocked_spider",
        )
        done, manifest = crawl_all(path)
    assert done.returncode == 3, done.stderr[-2000:]
    assert manifest is not None
    assert manifest["sites"]["modgov"]["status"] == "blocked"
    assert "blocked by a bot challenge" in done.stdout


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "crawl.toml"
    path.write_text("[sites.qdnd]\nmax_pages = 'many'\n")
    done, _ = crawl_all(path)
    assert done.returncode == 2
    assert "max_pages: expected int" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_damaged_file_of_one_site_fails_that_site_and_the_run_still_reports(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    """Before, the run's own rows were read back from the whole archive: one damaged file
    of any site ended crawl-all in a traceback, with no manifest and no summary."""
    path = config(tmp_path, mirror, sites="[sites.qdnd]\n[sites.bienphong]\n")
    first, _ = crawl_all(path)
    assert first.returncode == 0, first.stderr[-2000:]
    site_dir = tmp_path / "archive" / "articles" / "site=qdnd.vn"
    good = sorted(site_dir.rglob("*.parquet"))[0]
    bad = good.with_name("part-earlier-1-00000.parquet")
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # no footer

    done, manifest = crawl_all(path)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert manifest is not None and manifest["exit_status"] == 1
    qdnd, bienphong = manifest["sites"]["qdnd"], manifest["sites"]["bienphong"]
    assert qdnd["status"] == "failed"
    assert qdnd["stats"]["finish_reason"] == "archive_unreadable"
    assert bienphong["status"] == "ok" and bienphong["skipped_known"] > 0
    assert "read_error" not in manifest
    assert f"{bad}" in done.stderr and "crawler validate --quarantine" in done.stderr
