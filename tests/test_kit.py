"""The kit for new sites: new-site scaffolding, fixture storing and refreshing, parser versions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from crawler.generic.compare import body_f1
from crawler.generic.parser import GenericParser
from crawler.kit.fixtures import expected_record, fixture_page, refresh, save_fixture
from crawler.kit.newsite import scaffold
from crawler.sites.qdnd import QdndParser, QdndSpider

FIXTURES = Path(__file__).parent / "fixtures"
SEED_CASE = FIXTURES / "qdnd" / "2022-701234.json"
SEED = json.loads(SEED_CASE.read_text("utf-8"))
SEED_PAGE = fixture_page(SEED_CASE)  # a page of the qdnd.vn replica
SEED_URL = SEED["url"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def copy_of_the_repository(target: Path) -> Path:
    """What new-site writes into and the site's checks read: the package, the replica
    builds, the test support and the tests over every spider, with the project's config."""
    root = Path(__file__).parent.parent
    skip = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache")
    for folder in ("crawler", "replicas", "tests/support"):
        shutil.copytree(root / folder, target / folder, ignore=skip)
    for name in ("tests/test_sites.py", "tests/conftest.py", "pyproject.toml"):
        shutil.copy(root / name, target / name)
    return target


def tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_new_site_writes_everything_the_site_needs_and_a_suite_that_says_what_is_missing(
    tmp_path: Path,
) -> None:
    project = copy_of_the_repository(tmp_path / "a copy [1] of the project")
    done = run(
        "new-site", "navy_news", "--domain", "www.navy-news.example", "--language", "en",
        "--root", str(project),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    replica = "crawler/mirror/sites/navy-news.example/"
    sources = "replicas/sources/navy-news.example/"
    written = {
        Path(line.removeprefix("wrote ")).relative_to(project).as_posix()
        for line in done.stdout.splitlines()
    }
    assert written >= {
        "crawler/sites/navy_news.py",
        "replicas/navy_news.py",
        sources + "articles.json",
        sources + "replica.md",
        sources + "templates/page.html",
        sources + "templates/article.html",
        "tests/test_site_navy_news.py",
        "tests/fixtures/navy_news/README.md",
        *(replica + name for name in ("site.json", "manifest.json", "PROVENANCE.md")),
        *(replica + "pages/" + name for name in ("index.html", "robots.txt")),
    }
    assert all((project / path).is_file() for path in written)
    module = project / "crawler" / "sites" / "navy_news.py"
    assert len(module.read_text().splitlines()) <= 60
    manifest = json.loads((project / replica / "manifest.json").read_text("utf-8"))
    assert manifest["generated_by"] == "python -m replicas navy_news"
    assert manifest["hosts"][0] == "www.navy-news.example" and manifest["articles"] == []

    # What it wrote is lint-clean, and the replica is what its new build script makes.
    python = [p for p in written if p.endswith(".py")]
    assert len(python) == 3
    lint = tool("ruff", "check", *python, cwd=project)
    assert lint.returncode == 0, lint.stdout
    formatted = tool("ruff", "format", "--check", *python, cwd=project)
    assert formatted.returncode == 0, formatted.stdout
    typed = tool("mypy", "--cache-dir", str(tmp_path / "mypy"), *python, cwd=project)
    assert typed.returncode == 0, typed.stdout
    checked = tool("replicas", "--check", cwd=project)
    assert checked.returncode == 0, checked.stderr
    assert tool("replicas", "navy_news", "--check", cwd=project).returncode == 0

    # It runs at once: the spider loads, and the site's own test module passes.
    listed = subprocess.run(
        [sys.executable, "-c", "from crawler.sites.navy_news import NavyNewsSpider as S; print(S.name, S.parser.version)"],
        capture_output=True, text=True, cwd=project,
    )  # fmt: skip
    assert listed.stdout.split() == ["navy_news", GenericParser.version], listed.stderr
    pytest_args = ("pytest", "-q", "-p", "no:cacheprovider")
    own = tool(*pytest_args, "-rA", "tests/test_site_navy_news.py", cwd=project)
    assert own.returncode == 0, own.stdout
    passed = [line for line in own.stdout.splitlines() if line.startswith("PASSED ")]
    assert len(passed) == 6, own.stdout
    # ... and it archives at once: its parser is the generic one until selectors are filled.
    url = "https://www.navy-news.example/fleet/frigate-drills-1234"
    extracted = run("extract", "navy_news", str(SEED_PAGE), "--url", url, cwd=project)
    assert extracted.returncode == 0, extracted.stderr
    record = json.loads(extracted.stdout)
    assert record["parser_version"] == GenericParser.version
    assert record["site"] == "navy-news.example" and record["spider"] == "navy_news"
    assert record["title"] == SEED["record"]["title"]
    assert body_f1(record["body"], SEED["record"]["body"]) >= 0.9
    # The suite over every spider says what is still missing.
    suite = tool(*pytest_args, "tests/test_sites.py", "-k", "navy_news", cwd=project)
    assert suite.returncode == 1
    assert "has 0 fixtures in tests/fixtures/navy_news/" in suite.stdout
    assert "lists 0 articles in its manifest.json" in suite.stdout

    # The build script on the skeleton makes a replica the spider crawls: one article
    # in its sources, and the replica is stale until rebuilt, then archived as listed.
    article = {
        "id": 4821,
        "title": "Frigates train off the coast",
        "published": "2025-03-04T08:30",
        "blocks": [
            {"p": "Two frigates held a three-day drill off the coast this week, practising "
                  "search and rescue with helicopters of the naval air wing."},
            {"img": "/images/frigates [1].jpg", "caption": "The frigates <at> sea & more."},
            {"p": "The crews rehearsed boarding and towing a disabled ship, the fleet said."},
        ],
        "byline": "By HONG PHUC",
        "source": "written for this test",
    }  # fmt: skip
    (project / sources / "articles.json").write_text(json.dumps({"articles": [article]}), "utf-8")
    stale = tool("replicas", "--check", cwd=project)
    assert stale.returncode == 1 and "stale: navy_news" in stale.stderr
    assert tool("replicas", "navy_news", cwd=project).returncode == 0
    assert tool("replicas", "--check", cwd=project).returncode == 0
    [listed_article] = json.loads((project / replica / "manifest.json").read_text("utf-8"))[
        "articles"
    ]
    assert (
        listed_article["url"] == "https://www.navy-news.example/frigates-train-off-the-coast-4821"
    )
    assert (listed_article["image_count"], listed_article["caption_count"]) == (1, 1)
    assert listed_article["byline"] == "By HONG PHUC"
    crawled = tool(
        *pytest_args, "-rA", "tests/test_sites.py", "tests/test_site_navy_news.py",
        "-k", "navy_news and not fixtures and not has_a_replica", cwd=project,
    )  # fmt: skip
    assert crawled.returncode == 0, crawled.stdout
    assert "PASSED tests/test_sites.py::test_crawl_of_the_replica_archives_its_articles" in (
        crawled.stdout
    )

    again = run(
        "new-site", "navy_news", "--domain", "www.navy-news.example", "--root", str(project)
    )
    assert again.returncode == 2
    assert "would overwrite" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad-Name", "example.vn", "vi"), "spider name"),
        (("good", "not a domain", "vi"), "not a domain"),
        (("good", "example.vn", "vietnamese"), "BCP 47"),
        (("import", "example.vn", "vi"), "Python keyword"),
        (("good", "example.vn", "vi"), "no replicas/skeleton.py"),  # not a checkout
    ],
)
def test_new_site_rejects_bad_input(
    tmp_path: Path, args: tuple[str, str, str], message: str
) -> None:
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        scaffold(*args, root=tmp_path)
    assert not any(tmp_path.iterdir())


def store(page: Path, root: Path) -> subprocess.CompletedProcess[str]:
    return run(
        "fixture", "qdnd", str(page), "--url", SEED_URL, "--dir", str(root), "--name", "seed"
    )


def test_fixture_command_stores_a_replica_page_once(tmp_path: Path) -> None:
    """A page of the replica, or a saved copy of one, is not copied: the case names it."""
    saved = tmp_path / "saved [copy] ü.html"
    saved.write_bytes(SEED_PAGE.read_bytes())
    for page in (SEED_PAGE, saved):
        done = store(page, tmp_path / "fixtures")
        assert done.returncode == 0, done.stderr
        assert str(SEED_PAGE) in done.stdout
        case = tmp_path / "fixtures" / "qdnd" / "seed.json"
        stored = json.loads(case.read_text("utf-8"))
        assert stored["replica_page"] == SEED["replica_page"]
        assert stored["url"] == SEED_URL and stored["record"] == SEED["record"]
        assert not case.with_suffix(".html").exists()
        assert fixture_page(case) == SEED_PAGE
        [result] = refresh(QdndSpider, tmp_path / "fixtures")
        assert not result.diff  # --refresh reads the replica's page


def test_fixture_command_copies_a_page_of_no_replica(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(SEED_PAGE.read_bytes() + b"<!-- saved from the site -->\n")
    done = store(page, tmp_path)
    assert done.returncode == 0, done.stderr
    case = tmp_path / "qdnd" / "seed.json"
    stored = json.loads(case.read_text("utf-8"))
    assert "replica_page" not in stored and stored["record"] == SEED["record"]
    assert case.with_suffix(".html").read_bytes() == page.read_bytes()
    assert fixture_page(case) == case.with_suffix(".html")
    assert store(SEED_PAGE, tmp_path).returncode == 0  # the same case, now from the replica
    assert not case.with_suffix(".html").exists()
    assert fixture_page(case) == SEED_PAGE


def test_a_case_names_a_page_of_a_replica_and_only_once(tmp_path: Path) -> None:
    case = tmp_path / "seed.json"
    for outside in ("../../../pyproject.toml", "/etc/hostname", "qdnd.vn/pages", 12, ["81.cn"]):
        case.write_text(json.dumps({**SEED, "replica_page": outside}), "utf-8")
        with pytest.raises(FileNotFoundError, match="no page of a replica"):
            fixture_page(case)
    case.write_text(json.dumps(SEED), "utf-8")
    case.with_suffix(".html").write_bytes(SEED_PAGE.read_bytes())
    with pytest.raises(ValueError, match="stored twice"):
        fixture_page(case)
    (tmp_path / "qdnd").mkdir()
    gone = {**SEED, "replica_page": "qdnd.vn/pages/no-such-page-1.html"}
    (tmp_path / "qdnd" / "gone.json").write_text(json.dumps(gone), "utf-8")
    done = run("fixture", "--refresh", "qdnd", "--dir", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr.startswith("crawler fixture: error: ") and "no page of a replica" in done.stderr
    )
    assert len(done.stderr.splitlines()) == 1


def test_refresh_shows_differences_and_writes_only_when_asked(tmp_path: Path) -> None:
    target, _ = save_fixture(QdndSpider, SEED_PAGE, SEED_URL, tmp_path, "seed")
    data = json.loads(target.read_text("utf-8"))
    data["record"]["title"] = "A stale title"
    target.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")

    done = run("fixture", "--refresh", "qdnd", "--dir", str(tmp_path))
    assert done.returncode == 0
    assert '-    "title": "A stale title"' in done.stdout
    assert "A stale title" in target.read_text("utf-8")  # unchanged without --write

    [result] = refresh(QdndSpider, tmp_path, write=True)
    assert result.diff
    assert "A stale title" not in target.read_text("utf-8")
    assert not refresh(QdndSpider, tmp_path)[0].diff


class QdndParserV2(QdndParser):
    """A made-up later layout: the sapo moved to another element."""

    version = "2"
    summary_css = "div.post-sapo"


class VersionedQdnd(QdndSpider):
    name = "qdnd_versioned"
    parser = QdndParserV2
    old_parsers = (QdndParser,)


def test_old_parser_versions_keep_their_fixtures() -> None:
    page = SEED_PAGE.read_bytes()
    old = expected_record(VersionedQdnd, page, SEED_URL, "1")
    new = expected_record(VersionedQdnd, page, SEED_URL)
    assert old["parser_version"] == "1" and old["summary"]
    assert new["parser_version"] == "2" and new["summary"] is None
    assert old == {
        **SEED["record"],
        "spider": VersionedQdnd.name,
    }
    with pytest.raises(KeyError, match="no parser version '3'"):
        expected_record(VersionedQdnd, page, SEED_URL, "3")
    article = VersionedQdnd().extract(HtmlResponse(url=SEED_URL, body=page, encoding="utf-8"))
    assert article.parser_version == "2"


def test_a_fixture_names_its_source_without_a_machines_path(tmp_path: Path) -> None:
    # A replica page given by its absolute path: stored as its path in the repository.
    target, _ = save_fixture(QdndSpider, SEED_PAGE.resolve(), SEED_URL, tmp_path / "fx", "a")
    source = json.loads(target.read_text("utf-8"))["source"]
    assert source == "crawler/mirror/sites/" + json.loads(target.read_text("utf-8"))["replica_page"]
    # A page from elsewhere (copied beside the case): its file name, not where it lay.
    elsewhere = tmp_path / "my downloads" / "page [1].html"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(SEED_PAGE.read_bytes().replace(b"</body>", b"<!-- mine --></body>"))
    target, own = save_fixture(QdndSpider, elsewhere, SEED_URL, tmp_path / "fx", "b")
    assert json.loads(target.read_text("utf-8"))["source"] == "page [1].html"
    assert own.read_bytes() == elsewhere.read_bytes()
