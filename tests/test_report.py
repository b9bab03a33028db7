"""crawler report: a self-contained page, opened in a real headless Chromium.

Chromium (Debian's package; ``make test`` installs it) loads the page from a
file with the network off, runs its script, and hands back the DOM and a
screenshot. The script marks ``data-ready="1"`` when every chart is drawn and
counts script errors in ``data-errors``. The screenshot is kept in
``test-artifacts/report.png`` to be looked at.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.synthetic import build_archive, synthetic_row
from crawler.archive import ArchiveWriter
from crawler.cli import main
from crawler.report import histogram, render_html, report_data, script_json
from crawler.runs.manifest import write_manifest

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


# -- Chinese and Vietnamese names ------------------------------------------------------

CJK_NAME = "王永文"  # an author of 81.cn, as its bylines print him
# Measures, once the charts are drawn, the label of CJK_NAME in the authors' chart, then
# the same label holding unassigned code points, which no font has: the tofu width.
CJK_PROBE = (
    '<script>window.addEventListener("load", function () { setTimeout(function () {'
    ' var r = document.documentElement, labels = document.querySelectorAll("#chart-authors text");'
    f' var label = Array.prototype.find.call(labels, function (t) {{ return t.textContent === "{CJK_NAME}"; }});'
    ' if (!label) { r.setAttribute("data-cjk", "no label"); return; }'
    ' var name = label.getComputedTextLength(); label.textContent = "\\u0378\\u0379\\u0378";'
    " var tofu = label.getComputedTextLength(); label.textContent = " + f'"{CJK_NAME}";'
    ' r.setAttribute("data-cjk", [name, tofu, getComputedStyle(label).fontSize].join(" "));'
    " }, 0); });</script>"
)


def cjk_font_installed() -> bool:
    done = subprocess.run(
        ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and bool(done.stdout.strip())


def test_chinese_names_render_in_a_cjk_font(tmp_path: Path) -> None:
    """Each of the three ideographs is one em wide in a CJK font; without one they are
    boxes as wide as any unknown character's (the screenshot showed them so)."""
    need_chromium()
    if not cjk_font_installed():
        message = "no CJK font: `make browser` installs fonts-noto-cjk (as root)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    rng = random.Random(3)
    with ArchiveWriter(tmp_path / "archive", "run-zh") as writer:
        for n in range(12):
            row = synthetic_row(rng, n, datetime(2025, 5, 1 + n, 8, tzinfo=UTC), "run-zh")
            chinese = n % 3 != 0
            row.update(
                site="81.cn" if chinese else "qdnd.vn",
                language="zh" if chinese else "vi",
                authors=[CJK_NAME] if chinese else ["Sơn Bình"],
                tags=["解放军报", "chủ đề Biển Đông"],
            )
            writer.add(row)
    page = tmp_path / "report.html"
    assert main(["report", "--archive", str(tmp_path / "archive"), "--html", str(page)]) == 0
    page.write_text(page.read_text("utf-8").replace("</body>", CJK_PROBE + "</body>"), "utf-8")
    attrs = root_attributes(dom_of(page, tmp_path / "profile"))
    assert attrs.get("data-ready") == "1" and attrs.get("data-errors") == "0", attrs
    name, tofu, size = attrs["data-cjk"].split()
    em = float(size.removesuffix("px"))
    assert em == 11
    assert float(name) == pytest.approx(3 * em, abs=0.5), attrs["data-cjk"]
    assert abs(float(tofu) - float(name)) > 1, attrs["data-cjk"]

    ARTIFACTS.mkdir(exist_ok=True)  # to be looked at: the names in both scripts, as text
    shot = ARTIFACTS / "report-zh-vi.png"
    shot.unlink(missing_ok=True)
    done = chromium(
        page, tmp_path / "profile", "--window-size=1280,1300", "--virtual-time-budget=10000",
        f"--screenshot={shot}",
    )  # fmt: skip
    assert done.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- hostile strings: the data stays data ---------------------------------------------

# What a crawled page or a hand-edited manifest may hold. Each must reach the page
# as text, exactly: no element, no script run, no dialog, and every chart drawn.
HOSTILE = (
    "</script><script>document.documentElement.setAttribute('data-pwned','1')</script>",
    "<!--",
    "<!-- <script> a comment that never ends",
    "<script>alert(1)</script>",
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2');alert(2)\">",
    "\"double\" and 'single' quotes, a \\ backslash",
    "line\u2028separator\u2029paragraph",
    "&amp; &lt;b&gt; &#60; &",
    "</SCRIPT ><p>",
)
# A site becomes a directory name: no "/", "=", "%" there (the writer refuses them).
HOSTILE_SITE = "<!--<script>\"'&amp;\u2028\u2029>"
# Names that are also properties of every JavaScript object.
OBJECT_KEY_SITE = "constructor"
# Counts calls to alert/confirm/prompt: only the test's copy of the page has it.
DIALOG_HOOK = (
    '<script>["alert", "confirm", "prompt", "print"].forEach(function (name) {'
    " window[name] = function () { var r = document.documentElement;"
    ' r.setAttribute("data-dialogs", String(Number(r.getAttribute("data-dialogs") || 0) + 1));'
    " }; });</script>"
)


class Dom(HTMLParser):
    """Elements and text nodes of a dumped DOM, text unescaped (script and style left out)."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self._raw = False
        self.feed(dom)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._raw = tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._raw = False

    def handle_data(self, data: str) -> None:
        if not self._raw:
            self.texts.append(data)


def hostile_archive(root: Path) -> Path:
    """An archive written by the project's writer, every text field hostile, and its runs."""
    rng = random.Random(5)
    sites = (HOSTILE_SITE, OBJECT_KEY_SITE, "qdnd.vn")
    run = "20260101T000000Z-hostile"
    with ArchiveWriter(root, run) as writer:
        for n in range(27):
            text = HOSTILE[n % len(HOSTILE)]
            row = synthetic_row(rng, n, datetime(2025, 1 + n % 3, 1 + n, 8, tzinfo=UTC), run)
            row.update(
                site=sites[n % len(sites)],
                title=text,
                summary=text,
                section=text,
                tags=list(HOSTILE),
                authors=list(HOSTILE),
                byline=text,
                body=f"{text}\n\n{row['body']}",
            )
            writer.add(row)
    runs = root / "_runs"
    runs.mkdir()
    for n, run_id in enumerate(HOSTILE):
        sites_of_run: dict[str, object] = {
            text: {"status": "alarm", "articles_new": 3, "alarm": [text, f"title: {text}"]}
            for text in HOSTILE
        }
        sites_of_run["qdnd.vn"] = {"status": "ok", "articles_new": 2, "alarm": []}
        if n == 0:  # only in the first run: the others must not find Object's "constructor"
            sites_of_run[OBJECT_KEY_SITE] = {"status": "ok", "articles_new": 1, "alarm": []}
        manifest = {"run_id": run_id, "start": f"2026-02-0{n + 1}T04:00:00+00:00"}
        (runs / f"run{n}.json").write_text(json.dumps({**manifest, "sites": sites_of_run}))
    # A hand-edited manifest, each field of the wrong type: shown as far as it makes sense.
    odd = {"status": ["?"], "articles_new": "many", "alarm": 5, "health": "x"}
    (runs / "odd.json").write_text(json.dumps({"run_id": 7, "start": 1, "sites": {"odd": odd}}))
    return root


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The archive's own path is on the page too (the subtitle).
    parent = tmp_path_factory.mktemp("hostile") / "<!--<script>\"' &amp;\u2028"
    return hostile_archive(parent / "archive")


def embedded_json(html: str) -> str:
    """The data element's text, ended where an HTML parser ends it: at the first ``</script``."""
    start = html.index('<script type="application/json" id="report-data">')
    start = html.index(">", start) + 1
    return html[start : html.lower().index("</script", start)]


def test_embedded_data_is_inert_whatever_the_strings(hostile: Path, tmp_path: Path) -> None:
    for text in (*HOSTILE, HOSTILE_SITE):
        payload = script_json({"s": text, "list": [text]})
        assert not set(payload) & set("<>&\u2028\u2029"), payload
        assert payload.isascii() and json.loads(payload) == {"s": text, "list": [text]}
    page = tmp_path / "report.html"
    assert main(["report", "--archive", str(hostile), "--html", str(page)]) == 0
    html = page.read_text("utf-8")
    data = json.loads(embedded_json(html))
    assert sorted(t["name"] for t in data["tags"]) == sorted(HOSTILE)
    assert sorted(a["name"] for a in data["authors"]) == sorted(HOSTILE)
    assert {s["site"] for s in data["sites"]} == {HOSTILE_SITE, OBJECT_KEY_SITE, "qdnd.vn"}
    assert [r["run_id"] for r in data["runs"][: len(HOSTILE)]] == list(HOSTILE)
    assert data["archive"]["path"] == str(hostile.resolve())
    # A file name that is not UTF-8 (a lone surrogate in Python) still gives a page.
    assert json.loads(script_json({"path": "a\udcff"})) == {"path": "a\udcff"}


def test_hostile_strings_are_shown_as_text_in_headless_chromium(
    hostile: Path, tmp_path: Path
) -> None:
    need_chromium()
    page = tmp_path / "report.html"
    assert main(["report", "--archive", str(hostile), "--html", str(page)]) == 0
    html = page.read_text("utf-8")
    page.write_text(html.replace("<head>", "<head>\n" + DIALOG_HOOK, 1), "utf-8")
    dom = dom_of(page, tmp_path / "profile")
    attrs = root_attributes(dom)
    # The data parsed and every chart drew.
    assert attrs.get("data-errors") == "0" and attrs.get("data-ready") == "1", attrs
    assert attrs.get("data-charts") == "6", attrs
    # Nothing from the data ran.
    assert "data-pwned" not in attrs and "data-dialogs" not in attrs, attrs
    parsed = Dom(dom)
    names = [tag for tag, _ in parsed.elements]
    assert names.count("script") == 4  # the hook, the error counter, the data, the charts
    assert "img" not in names and "iframe" not in names
    assert all(a.get("class") in ("sub", "note") for tag, a in parsed.elements if tag == "p")
    assert not [a for _, attributes in parsed.elements for a in attributes if a.startswith("on")]
    # Bars for each author and tag, and each name whole in its tooltip.
    for chart in ("chart-authors", "chart-tags"):
        part = dom[dom.index(f'id="{chart}"') :]
        part = part[: part.index("</svg>")]
        assert part.count("data-value=") == len(HOSTILE), chart
    for n, text in enumerate(HOSTILE):
        assert f"{text}: 27 articles" in parsed.texts, text  # authors and tags
        assert text in parsed.texts  # the alarm list: the message, exactly
        assert f"Run {text} (2026-02-0{n + 1} 04:00)" in parsed.texts  # its run
    texts = set(parsed.texts)
    assert {HOSTILE_SITE, OBJECT_KEY_SITE, "qdnd.vn"} <= texts  # the sites table
    # One article a day: each bar of "constructor" counts 1, not Object's constructor.
    assert "\n".join(parsed.texts).count(f"\n{OBJECT_KEY_SITE}: 1\n") == 9
    assert any(t.startswith(f"{hostile.resolve()} · generated ") for t in texts)
    alarms = dom[dom.index('id="chart-alarms"') :]
    assert alarms.count('data-status="alarm"') == len(HOSTILE) ** 2
    # 10 runs x 12 sites: "constructor" is "ok" in run 1 only, not in the runs after it.
    assert alarms.count('data-status="ok"') == len(HOSTILE) + 1
    assert alarms.count('data-status="none"') == 11 + (len(HOSTILE) - 1) + len(HOSTILE)
