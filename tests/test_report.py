"""crawler report: a self-contained page, opened in a real headless Chromium.

Chromium (Debian's package; ``make test`` installs it) loads the page from a
file with the network off, runs its script, and hands back the DOM and a
screenshot. The script marks ``data-ready="1"`` when every chart is drawn and
counts script errors in ``data-errors``. The screenshot is kept in
``test-artifacts/report.png`` to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.synthetic import build_archive
from crawler.cli import main
from crawler.report import histogram, render_html, report_data
from crawler.runs import write_manifest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",  # should anything try the network, it goes nowhere
)


def need_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(
                f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
            )
        pytest.skip("no chromium here (as root: apt-get install chromium)")


def chromium(page: Path, profile: Path, *action: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, page.as_uri()],
        capture_output=True,
        timeout=90,
        check=False,
    )


def dom_of(page: Path, profile: Path) -> str:
    done = chromium(page, profile, "--virtual-time-budget=10000", "--dump-dom")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8")


def root_attributes(dom: str) -> dict[str, str]:
    tag = re.search(r"<html([^>]*)>", dom)
    assert tag, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))


def manifest(run_id: str, start: str, alarm_site: str | None) -> dict[str, object]:
    sites = {}
    for spider in ("qdnd", "qdnd_en", "haiquan", "bienphong"):
        alarm = ["title: 0% (0 of 35), below the minimum 95%"] if spider == alarm_site else []
        sites[spider] = {
            "spider": spider,
            "status": "alarm" if alarm else "ok",
            "pages_fetched": 60,
            "articles_new": 35,
            "alarm": alarm,
            "health": {"found": 35},
        }
    return {"run_id": run_id, "start": start, "end": start, "sites": sites}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_archive(tmp_path_factory.mktemp("report") / "archive", 900, runs=3, days=365)
    runs = root / "_runs"
    for n in range(8):
        alarm = "haiquan" if n in (3, 4) else None
        write_manifest(
            runs,
            manifest(f"2026010{n}T040000Z-run{n:03d}", f"2026-01-0{n + 1}T04:00:00+00:00", alarm),
        )
    (runs / "broken.json").write_text("{not json", "utf-8")
    return root


def test_report_data_counts(archive: Path) -> None:
    data = report_data(archive)
    assert data["totals"]["articles"] == 900 and data["totals"]["sites"] == 6
    assert sum(r["n"] for r in data["per_day"]) == 900 - data["totals"]["undated"]
    assert sum(b["count"] for b in data["body_lengths"]["bins"]) == 900
    assert sum(r["articles"] for r in data["images_per_article"]) == 900
    assert len(data["runs"]) == 8 and data["runs"][3]["sites"]["haiquan"]["status"] == "alarm"
    assert len(data["authors"]) == 15 and data["authors"][0]["n"] >= data["authors"][-1]["n"]


def test_histogram_bins_are_round_and_complete() -> None:
    values = list(range(0, 10_000, 7))
    hist = histogram(values)
    assert hist["step"] in (200, 250, 500, 1000) or str(hist["step"])[0] in "125"
    assert sum(b["count"] for b in hist["bins"]) == len(values)
    assert histogram([]) == {"step": 0, "bins": []}


def test_page_is_self_contained(archive: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(["report", "--archive", str(archive), "--html", str(page)]) == 0
    html = page.read_text("utf-8")
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # The data cannot end its <script> element early, whatever the titles hold.
    assert html.count("</script>") == html.count("<script")


def test_report_renders_in_headless_chromium(archive: Path, tmp_path: Path) -> None:
    need_chromium()
    page = tmp_path / "report.html"
    assert main(["report", "--archive", str(archive), "--html", str(page)]) == 0
    dom = dom_of(page, tmp_path / "profile")
    attrs = root_attributes(dom)
    assert attrs.get("data-errors") == "0", attrs
    assert attrs.get("data-ready") == "1", attrs
    assert attrs.get("data-charts") == "6", attrs  # per day, body, images, authors, tags, alarms
    assert int(attrs["data-points"]) > 300
    per_day = dom[dom.index('id="chart-per-day"') : dom.index('id="chart-body"')]
    assert per_day.count("data-value=") > 100 and "<svg" in per_day
    alarms = dom[dom.index('id="chart-alarms"') :]
    assert alarms.count('data-status="alarm"') == 2 and alarms.count('data-status="ok"') == 30
    assert "title: 0% (0 of 35), below the minimum 95%" in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = chromium(
        page, tmp_path / "profile", "--window-size=1280,2200", "--virtual-time-budget=10000",
        f"--screenshot={shot}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_a_script_error_is_seen(archive: Path, tmp_path: Path) -> None:
    """The check above can fail: a page whose script throws is not ready and counts it."""
    need_chromium()
    page = tmp_path / "broken.html"
    html = render_html(report_data(archive))
    page.write_text(html.replace('"use strict";', '"use strict"; null.boom();', 1), "utf-8")
    attrs = root_attributes(dom_of(page, tmp_path / "profile"))
    assert attrs.get("data-ready") == "0" and attrs.get("data-errors") == "1"


def test_without_manifests_the_history_says_so(tmp_path: Path) -> None:
    need_chromium()
    root = build_archive(tmp_path / "archive", 60, runs=1, days=30)
    page = tmp_path / "report.html"
    assert main(["report", "--archive", str(root), "--html", str(page)]) == 0
    dom = dom_of(page, tmp_path / "profile")
    attrs = root_attributes(dom)
    assert attrs.get("data-ready") == "1" and attrs.get("data-errors") == "0"
    assert "No crawl-all run manifests" in dom
