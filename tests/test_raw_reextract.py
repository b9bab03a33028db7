"""Raw pages (WARC under raw/, one raw_ref per row) and crawler reextract / compact."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import SCHEMA_VERSION_KEY, read_table
from crawler.archive.checking import validate
from crawler.archive.warc import RawPageError, RawStore, parse_ref, read_page
from crawler.mirror.server import MirrorServer
from crawler.urls import canonical_url
from tests.conftest import DATA

SPIDERS = ("qdnd", "haiquan")


def cli(*argv: str, script: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``crawler ARGV`` in a new process; ``script`` runs first (e.g. a parser change)."""
    code = f"{script}\nimport sys\nfrom crawler.cli import main\nsys.exit(main({list(argv)!r}))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("raw") / "archive"
    with MirrorServer() as server:
        done = cli(
            "crawl",
            *SPIDERS,
            "--out",
            str(out),
            "--log-level",
            "WARNING",
            "-s",
            f"CRAWLER_MIRROR_URL={server.base_url}",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
        )
    assert done.returncode == 0, done.stderr
    yield out


@pytest.fixture
def archive(crawled: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "archive"
    shutil.copytree(crawled, copy)
    return copy


def test_every_row_points_to_its_stored_page(crawled: Path) -> None:
    rows = read_table(crawled, columns=["url", "site", "title", "raw_ref", "crawl_run"]).to_pylist()
    assert rows and all(row["raw_ref"] for row in rows)
    for row in rows:
        relative, _offset, _length = parse_ref(row["raw_ref"])
        assert relative.startswith(f"raw/site={row['site']}/{row['crawl_run']}-")
        page = read_page(crawled, row["raw_ref"])
        assert page.status == 200
        assert (
            canonical_url(page.url, "www.qdnd.vn" if row["site"] == "qdnd.vn" else None)
            == row["url"]
            or page.url == row["url"]
        )
        html = page.body.decode("utf-8")
        assert row["title"].split()[0] in html
        assert not any(name.lower() == "content-encoding" for name, _ in page.headers)
    for path in crawled.glob("raw/site=*/*.warc.gz"):
        types = []
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle, check_digests=True):
                record.content_stream().read()
                types.append(record.rec_type)
                assert record.digest_checker.passed, record.digest_checker.problems
        assert types[0] == "warcinfo" and set(types[1:]) == {"response"}
    for path in crawled.rglob("*.parquet"):
        assert pq.read_schema(path).metadata[SCHEMA_VERSION_KEY] == b"2"


def test_a_writer_killed_mid_write_leaves_every_referenced_record_whole(tmp_path: Path) -> None:
    """SIGKILL a process storing pages: every reference it handed out still reads, and a
    second store's file beside it is untouched."""
    script = textwrap.dedent(
        """
        import sys
        from crawler.archive.warc import RawStore
        store = RawStore(sys.argv[1], "killed-run")
        body = ("<html>" + "x" * 200_000 + "</html>").encode()
        n = 0
        while True:
            ref = store.store("qdnd.vn", f"https://www.qdnd.vn/a-{n}", 200, [], body)
            print(ref, flush=True)
            n += 1
        """
    )
    with RawStore(tmp_path, "other-run") as other:
        kept = other.store("qdnd.vn", "https://www.qdnd.vn/other", 200, [], b"<html>other</html>")
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    refs = [writer.stdout.readline().strip() for _ in range(20)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    refs += [line.strip() for line in writer.stdout if line.strip()]
    for ref in refs:
        assert read_page(tmp_path, ref).body.startswith(b"<html>xxx")
    assert read_page(tmp_path, kept).body == b"<html>other</html>"
    with pytest.raises(RawPageError):
        read_page(tmp_path, "raw/site=qdnd.vn/nothing.warc.gz:0:10")
    with pytest.raises(RawPageError):
        parse_ref("../../etc/passwd:0:10")


def _warcio_page(root: Path, ref: str) -> tuple[str, int, list[tuple[str, str]], bytes, str]:
    """What warcio reads at ``ref``: the reference ``read_page`` must agree with."""
    relative, offset, length = parse_ref(ref)
    with (root / relative).open("rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    return (
        record.rec_headers.get_header("WARC-Target-URI"),
        int(record.http_headers.get_statuscode()),
        list(record.http_headers.headers),
        record.content_stream().read(),
        record.rec_headers.get_header("WARC-Date"),
    )


def test_stored_pages_read_as_warcio_reads_them(tmp_path: Path, crawled: Path) -> None:
    """``read_page`` parses the record itself: every field as warcio gives it, odd
    headers included (Latin-1 and UTF-8 values, repeats, empty values, folded lines)."""
    odd = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("X-Latin", "caf\u00e9 cr\u00e8me"),
        ("X-Utf8-Looking", "\u00c3\u00a9t\u00c3\u00a9"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("X-Empty", ""),
        ("X-Folded", "one\r\n two"),
        ("x-lower", "v : w"),
    ]
    pages = [
        ("https://www.qdnd.vn/a", 200, odd, b"<html>\r\n\r\nbody\n</html>"),
        ("https://www.qdnd.vn/b c", 404, [], b""),
        ("http://www.qdnd.vn/c?x=\u1ea1", 301, [("Location", "/d")], bytes(range(256)) * 3),
    ]
    with RawStore(tmp_path, "odd-run") as store:
        refs = [
            store.store("qdnd.vn", url, status, headers, body)
            for url, status, headers, body in pages
        ]
    refs += [row["raw_ref"] for row in read_table(crawled, columns=["raw_ref"]).to_pylist()[:20]]
    for ref in refs:
        root = tmp_path if "odd-run" in ref else crawled
        page = read_page(root, ref)
        assert (page.url, page.status, page.headers, page.body, page.date) == _warcio_page(
            root, ref
        )
    assert read_page(tmp_path, refs[1]).url == "https://www.qdnd.vn/b%20c"
    assert ("X-Latin", "caf\u00e9 cr\u00e8me") in read_page(tmp_path, refs[0]).headers


def test_a_reference_to_anything_but_a_page_is_refused(tmp_path: Path) -> None:
    with RawStore(tmp_path, "run") as store:
        ref = store.store("qdnd.vn", "https://www.qdnd.vn/a", 200, [], b"<html>a</html>")
    relative, offset, length = parse_ref(ref)
    with pytest.raises(RawPageError, match="no response record"):
        read_page(tmp_path, f"{relative}:0:{offset}")  # the file's warcinfo record
    with pytest.raises(RawPageError, match="no WARC record"):
        read_page(tmp_path, f"{relative}:{offset + 10}:{length - 10}")  # inside a member
    with pytest.raises(RawPageError, match="cut short"):
        read_page(tmp_path, f"{relative}:{offset}:{length - 10}")
    path = tmp_path / relative
    path.write_bytes(path.read_bytes() + gzip.compress(b"HTTP/1.1 200 OK\r\n\r\nnot a WARC record"))
    with pytest.raises(RawPageError, match=r"starts with 'HTTP/1\.1"):
        read_page(tmp_path, f"{relative}:{offset + length}:{path.stat().st_size - offset - length}")


def test_switched_off_nothing_is_stored(tmp_path: Path) -> None:
    with MirrorServer() as server:
        done = cli(
            "crawl", "haiquan", "--out", str(tmp_path), "--log-level", "WARNING",
            "-s", f"CRAWLER_MIRROR_URL={server.base_url}", "-s", "DOWNLOAD_DELAY=0",
            "-s", "CRAWLER_RAW_PAGES=False",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "raw").exists()
    rows = read_table(tmp_path, columns=["raw_ref"]).to_pylist()
    assert rows and all(row["raw_ref"] is None for row in rows)


PARSER_CHANGE = textwrap.dedent(
    """
    from crawler.sites.qdnd import QdndParser, QdndSpider

    class Improved(QdndParser):
        version = "9"

        def title(self, response):
            return "Improved: " + super().title(response)

    QdndSpider.parser = Improved
    QdndSpider.old_parsers = (*QdndSpider.old_parsers, QdndParser)
    """
)


def test_reextract_after_a_parser_change_then_compact(archive: Path) -> None:
    before = {r["url_key"]: r for r in read_table(archive).to_pylist()}
    qdnd = {k for k, r in before.items() if r["site"] == "qdnd.vn"}
    # No replica server runs now: a fetch would fail, and the run would log errors.
    done = cli("reextract", "--archive", str(archive), "--site", "qdnd.vn", script=PARSER_CHANGE)
    assert done.returncode == 0, done.stderr
    assert (
        f"{len(qdnd)} stored pages re-parsed, {len(qdnd)} rows written, 0 unchanged" in done.stderr
    )
    assert "crawler compact" in done.stderr
    rows = read_table(archive).to_pylist()
    new = [r for r in rows if r["parser_version"] == "9"]
    assert {r["url_key"] for r in new} == qdnd
    for row in new:
        old = before[row["url_key"]]
        assert row["title"] == "Improved: " + old["title"]
        assert row["body"] == old["body"] and row["images"] == old["images"]
        assert row["fetched_at"] == old["fetched_at"] and row["raw_ref"] == old["raw_ref"]
        assert row["crawl_run"] != old["crawl_run"]

    # The filter: only rows of parser 1 of qdnd.vn are left to do, and there are none.
    again = cli(
        "reextract", "--archive", str(archive), "--site", "qdnd.vn", "--spider-version", "1",
        script=PARSER_CHANGE,
    )  # fmt: skip
    assert again.returncode == 0 and "nothing to re-parse" in again.stderr

    done = cli("compact", "--archive", str(archive))
    assert done.returncode == 0, done.stderr
    after = read_table(archive).to_pylist()
    assert len(after) == len(before) == len({r["url_key"] for r in after})
    versions = {r["url_key"]: r["parser_version"] for r in after}
    assert all(versions[k] == "9" for k in qdnd)
    assert all(versions[k] == "1" for k in before if k not in qdnd)
    assert validate(archive).problems == []


def test_reextract_outdated_only(archive: Path) -> None:
    done = cli("reextract", "--archive", str(archive), "--outdated")
    assert done.returncode == 0 and "nothing to re-parse" in done.stderr
    done = cli("reextract", "--archive", str(archive), "--outdated", script=PARSER_CHANGE)
    assert done.returncode == 0, done.stderr
    written = read_table(archive, columns=["site", "parser_version"]).to_pylist()
    assert {r["site"] for r in written if r["parser_version"] == "9"} == {"qdnd.vn"}


def test_reextract_skips_rows_without_a_stored_page(tmp_path: Path) -> None:
    shutil.copytree(DATA / "archive_v1", tmp_path, dirs_exist_ok=True)
    done = cli("reextract", "--archive", str(tmp_path))
    assert done.returncode == 0
    assert "nothing to re-parse (3 no stored page)" in done.stderr


def test_reextract_counts_a_missing_page(archive: Path) -> None:
    shutil.rmtree(archive / "raw" / "site=baohaiquanvietnam.vn")
    report = validate(archive).as_dict()
    assert report["counts"]["raw_ref"] > 0
    done = cli("reextract", "--archive", str(archive), "--site", "baohaiquanvietnam.vn")
    assert done.returncode == 0, done.stderr
    assert "0 rows written" in done.stderr and "pages missing" in done.stderr
    summary = json.loads(cli("inspect", "--archive", str(archive), "--json").stdout)
    assert summary["raw_pages"]["files"] >= 1


VERSION_ONLY = textwrap.dedent(
    """
    from crawler.sites.qdnd import QdndParser, QdndSpider

    class Same(QdndParser):
        version = "9"

    QdndSpider.parser = Same
    QdndSpider.old_parsers = (*QdndSpider.old_parsers, QdndParser)
    """
)


def test_reextract_writes_only_what_changed_unless_forced(archive: Path) -> None:
    before = read_table(archive).to_pylist()
    qdnd = [r for r in before if r["site"] == "qdnd.vn"]
    # A new parser version that makes the same records: nothing to write.
    done = cli("reextract", "--archive", str(archive), "--site", "qdnd", script=VERSION_ONLY)
    assert done.returncode == 0, done.stderr
    n = len(qdnd)
    assert f"{n} stored pages re-parsed, 0 rows written, {n} unchanged" in done.stderr
    assert f"qdnd: {n} pages, 0 rows, {n} unchanged, 0 dropped" in done.stderr
    assert "Dropped" not in done.stderr  # quiet, not a warning per page
    assert len(read_table(archive, columns=["url"])) == len(before)
    # --force writes them all, stamped with the current version.
    done = cli(
        "reextract", "--archive", str(archive), "--site", "qdnd.vn", "--force",
        script=VERSION_ONLY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{n} rows written, 0 unchanged" in done.stderr
    rows = read_table(archive, columns=["site", "parser_version"]).to_pylist()
    assert sum(1 for r in rows if r["parser_version"] == "9") == n


def test_the_unchanged_check_sees_a_record_as_parquet_gives_it_back(crawled: Path) -> None:
    """SkipUnchanged fingerprints ``normalise_record(record)``, not the record written and
    read back through Arrow: both must give the same fingerprint, whatever the timezone
    of a timestamp or the keys an image leaves out."""
    from datetime import datetime, timedelta, timezone

    from crawler.archive.schema import normalise_record, records_to_table
    from crawler.crawling.fingerprints import fingerprint

    records = read_table(crawled).to_pylist()
    hanoi = timezone(timedelta(hours=7))
    odd = {
        **records[0],
        "published_at": datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=hanoi),
        "fetched_at": datetime(2025, 1, 2, 0, 0, tzinfo=hanoi),
        "images": [{"url": "https://www.qdnd.vn/a.jpg"}, {"url": "b", "caption": "c"}],
        "summary": None,
        "tags": [],
    }
    for record in [*records, odd]:
        stored = records_to_table([record]).to_pylist()[0]
        assert fingerprint(normalise_record(record)) == fingerprint(stored)
    assert fingerprint(normalise_record(odd)) != fingerprint(
        {**normalise_record(odd), "published_at": odd["published_at"]}
    )


ONE_PAGE_FAILS = textwrap.dedent(
    """
    import os
    from crawler.pipelines.normalise import NormaliseText
    from crawler.sites.qdnd import QdndParser

    calls = {"parse": 0, "clean": 0}
    parse, clean = QdndParser.parse, NormaliseText.apply
    where = os.environ["FAIL_IN"]

    def failing_parse(self, response):
        calls["parse"] += 1
        if where == "parser" and calls["parse"] == 3:
            raise RuntimeError("parser broke on this page")
        return parse(self, response)

    def failing_clean(self, article):
        calls["clean"] += 1
        if where == "pipeline" and calls["clean"] == 5:
            raise RuntimeError("pipeline broke on this article")
        return clean(self, article)

    QdndParser.parse = failing_parse
    NormaliseText.apply = failing_clean
    """
)


@pytest.mark.parametrize("where", ["parser", "pipeline"])
def test_reextract_a_page_that_fails_is_reported_and_the_others_are_written(
    archive: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay keeps the crawl's error accounting: an exception in the parser or in a
    pipeline is counted and logged and makes the exit status 1; every other page is
    re-made."""
    n = sum(1 for r in read_table(archive, columns=["site"]).to_pylist() if r["site"] == "qdnd.vn")
    monkeypatch.setenv("FAIL_IN", where)
    done = cli(
        "reextract", "--archive", str(archive), "--site", "qdnd", "--force", script=ONE_PAGE_FAILS
    )
    assert done.returncode == 1, done.stderr
    assert f"{n} stored pages re-parsed, {n - 1} rows written" in done.stderr
    assert (
        f"qdnd: {n} pages, {n - 1} rows, 0 unchanged, 0 dropped, 0 pages missing, 1 errors"
        in done.stderr
    )
    assert f"{where} broke on th" in done.stderr


# -- the pages shared out between worker processes (--workers) --------------------------


def _run_rows(root: Path) -> list[dict[str, object]]:
    """The rows of the archive's newest run, without their run id, in a stable order."""
    rows = read_table(root).to_pylist()
    newest = max(row["crawl_run"] for row in rows)
    made = [
        {k: v for k, v in row.items() if k != "crawl_run"}
        for row in rows
        if row["crawl_run"] == newest
    ]
    return sorted(made, key=lambda row: str(row["url_key"]))


def _run_pids(root: Path) -> set[str]:
    """The pids in the names of the Parquet files of the archive's newest run."""
    newest = max(row["crawl_run"] for row in read_table(root, columns=["crawl_run"]).to_pylist())
    return {p.name.rsplit("-", 2)[1] for p in root.rglob(f"part-{newest}-*.parquet")}


def _summary(stderr: str) -> list[str]:
    """The report's lines, the run id left out."""
    return [
        line.split(": ", 1)[1] if line.startswith("reextract run") else line
        for line in stderr.splitlines()
        if line.startswith(("reextract run", "  "))
    ]


PROGRESS_SEEN = textwrap.dedent(
    """
    import sys
    from crawler.crawling import replay

    class Seen(replay.Progress):
        def close(self):
            print(f"progress {self.done} {self.unit}", file=sys.stderr)
            super().close()

    replay.Progress = Seen
    """
)


def test_reextract_in_two_workers_makes_the_rows_one_process_makes(
    archive: Path, tmp_path: Path
) -> None:
    """Two workers write the very rows one process writes (every column but crawl_run; the
    order between the workers may differ), from two processes, with the same report and
    exit status; and count the same unchanged records."""
    total = len(read_table(archive, columns=["url"]))
    other = tmp_path / "other"
    shutil.copytree(archive, other)
    one = cli("reextract", "--archive", str(archive), "--force", "--workers", "1")
    two = cli(
        "reextract", "--archive", str(other), "--force", "--workers", "2", script=PROGRESS_SEEN
    )
    assert one.returncode == two.returncode == 0, (one.stderr, two.stderr)
    assert _summary(two.stderr) == _summary(one.stderr)
    assert f"{total} stored pages re-parsed, {total} rows written" in two.stderr
    assert _run_rows(other) == _run_rows(archive)
    assert len(_run_pids(archive)) == 1 and len(_run_pids(other)) == 2
    assert f"progress {total} pages" in two.stderr  # the workers' counts reach the bar
    # Nothing changed since: every record is counted unchanged, by each way alike.
    one = cli("reextract", "--archive", str(archive), "--workers", "1", script=VERSION_ONLY)
    two = cli("reextract", "--archive", str(other), "--workers", "2", script=VERSION_ONLY)
    assert one.returncode == two.returncode == 0, (one.stderr, two.stderr)
    assert f"{total} stored pages re-parsed, 0 rows written, {total} unchanged" in two.stderr
    assert _summary(two.stderr) == _summary(one.stderr)
    assert validate(other).problems == []


WORKER_TROUBLE = textwrap.dedent(
    """
    import os, signal
    from crawler.sites.qdnd import QdndParser

    parse = QdndParser.parse

    def troubled(self, response):
        if response.url == os.environ["TROUBLE_URL"]:
            if os.environ["TROUBLE"] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("parser broke on this page")
        return parse(self, response)

    QdndParser.parse = troubled
    """
)


def _shares(root: Path) -> tuple[list[str], list[int]]:
    """The plan's qdnd page URLs in its order, and how many pages each of two workers
    gets (every spider's pages cut in two)."""
    rows = read_table(root, columns=["url", "url_key", "spider", "raw_ref"]).to_pylist()
    qdnd = [
        read_page(root, r["raw_ref"]).url
        for r in sorted(rows, key=lambda r: r["url_key"])
        if r["spider"] == "qdnd"
    ]
    counts = [0, 0]
    for spider in {r["spider"] for r in rows}:
        n = sum(1 for r in rows if r["spider"] == spider)
        counts[0] += n // 2
        counts[1] += n - n // 2
    return qdnd, counts


def test_reextract_a_page_failing_in_one_worker_loses_nothing_of_the_others(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qdnd, counts = _shares(archive)
    total = sum(counts)
    monkeypatch.setenv("TROUBLE", "raise")
    monkeypatch.setenv("TROUBLE_URL", qdnd[0])  # the first worker's first qdnd page
    done = cli(
        "reextract", "--archive", str(archive), "--force", "--workers", "2",
        script=WORKER_TROUBLE,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"{total} stored pages re-parsed, {total - 1} rows written" in done.stderr
    assert (
        f"qdnd: {len(qdnd)} pages, {len(qdnd) - 1} rows, 0 unchanged, 0 dropped, "
        "0 pages missing, 1 errors" in done.stderr
    )
    assert "parser broke on this page" in done.stderr
    assert len(_run_rows(archive)) == total - 1


def test_reextract_a_killed_worker_fails_the_command_and_its_rows_stay_valid(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qdnd, counts = _shares(archive)
    monkeypatch.setenv("TROUBLE", "kill")
    monkeypatch.setenv("TROUBLE_URL", qdnd[len(qdnd) // 2 - 1])  # the first worker's last one
    done = cli(
        "reextract", "--archive", str(archive), "--force", "--workers", "2",
        "-s", "CRAWLER_ARCHIVE_FLUSH_ROWS=1", script=WORKER_TROUBLE,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    # The page is the first worker's, unless the second one took it from the first.
    assert re.match(
        r"crawler reextract: error: worker [12] of 2 \(pid \d+\) was killed by SIGKILL: the "
        r"rows it wrote are kept, the pages it was re-parsing \(and \d+ left to it\) are not$",
        errors[0],
    ), errors
    # The other worker's report stands whole (its share and what it took of the other's);
    # the dead one's rows written before it was killed are whole files, and the archive
    # reads and validates.
    survived = int(done.stderr.split(" stored pages re-parsed, ")[0].rsplit(": ", 1)[1])
    assert f"{survived} stored pages re-parsed, {survived} rows written" in done.stderr
    written = _run_rows(archive)
    assert survived <= len(written) < sum(counts)
    assert validate(archive).problems == []


SLOW_FIRST_WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    from crawler.crawling import replay
    from crawler.sites.qdnd import QdndParser

    parse, parent = QdndParser.parse, os.getpid()

    def slow(self, response):
        if os.getppid() == parent and replay.current_plan().taker.worker == 0:
            if os.environ.get("TROUBLE") == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.5)
        return parse(self, response)

    QdndParser.parse = slow
    take = replay.Taker.take

    def told(self, spider):
        at = self._at(self.worker, self.spiders.index(spider))
        own = self.bounds[at + 1] - self.bounds[at]
        row = take(self, spider)
        if row is not None and not own:
            print(f"worker {self.worker} took pages of another", file=sys.stderr)
        return row

    replay.Taker.take = told
    """
)


@pytest.mark.parametrize("force", [True, False])
def test_a_worker_takes_the_pages_a_slow_one_has_not_started(archive: Path, force: bool) -> None:
    """The first worker is slow: the second one takes most of its qdnd pages, each
    re-parsed once; the unchanged check has the old fingerprints of those it took."""
    _, counts = _shares(archive)
    total = sum(counts)
    mode = ["--force"] if force else []
    script = SLOW_FIRST_WORKER + ("" if force else VERSION_ONLY)
    done = cli("reextract", "--archive", str(archive), *mode, "--workers", "2", script=script)
    assert done.returncode == 0, done.stderr
    assert "worker 1 took " in done.stderr  # the second one took pages of the first
    written = 0 if not force else total
    unchanged = total - written
    assert (
        f"{total} stored pages re-parsed, {written} rows written, {unchanged} unchanged"
        in done.stderr
    )
    if force:
        rows = _run_rows(archive)
        assert len({row["url_key"] for row in rows}) == len(rows) == total
        assert len(_run_pids(archive)) == 2


def test_the_pages_a_dead_worker_had_not_taken_are_done_by_the_others(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, counts = _shares(archive)
    monkeypatch.setenv("TROUBLE", "kill")  # the first worker dies at its first qdnd page
    done = cli(
        "reextract", "--archive", str(archive), "--force", "--workers", "2",
        script=SLOW_FIRST_WORKER,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "(and 0 left to it) are not" in errors[0], errors
    survived = int(done.stderr.split(" stored pages re-parsed, ")[0].rsplit(": ", 1)[1])
    # Only the pages the dead worker had taken (Scrapy's start, a page or so) are lost.
    assert counts[1] < survived < sum(counts)
    assert len(_run_rows(archive)) >= survived


def test_pages_are_taken_once_each_own_first_then_the_back_half_of_the_largest() -> None:
    import multiprocessing

    from crawler.crawling.replay import Plan, Taker, split

    plan = Plan(Path("."), {"a": [{"n": i} for i in range(10)], "b": [{"n": 100}]})
    shares = split(plan, 2)
    context = multiprocessing.get_context("fork")
    first, second = Taker(plan, shares, context), Taker(plan, shares, context)
    second.bounds, second.lock, second.worker = first.bounds, first.lock, 1
    assert first.take("a") == {"n": 0}  # its own, from the front
    assert [first.take("a") for _ in range(4)][-1] == {"n": 4}
    # Its range is empty: it takes the back half (rounded up) of the other's 5, 7-9.
    assert first.take("a") == {"n": 7} and first.left(1) == 3  # 5, 6 and b's page
    assert second.take("a") == {"n": 5}
    assert [first.take("a"), first.take("a")] == [{"n": 8}, {"n": 9}]
    assert first.left(0) == 0 and first.left(1) == 2  # 6 and b's page
    assert second.take("a") == {"n": 6} and second.take("a") is None
    assert first.take("b") == {"n": 100} and second.take("b") is None
    assert first.left(0) == first.left(1) == 0


def test_worker_results_add_up() -> None:
    from datetime import UTC, datetime

    from crawler.crawling.replay import merge_results
    from crawler.crawling.runner import RunResult, SpiderResult

    def stats(start: int, pages: int, errors: int, reason: str) -> dict[str, object]:
        return {
            "start_time": datetime(2026, 1, 1, 0, 0, start, tzinfo=UTC),
            "finish_time": datetime(2026, 1, 1, 0, 1, start, tzinfo=UTC),
            "elapsed_time_seconds": 60.0 + start,
            "crawler/reextract/pages": pages,
            "spider_exceptions/count": errors,
            "finish_reason": reason,
        }

    one = RunResult(
        "run",
        [
            SpiderResult("a", "finished", stats(1, 10, 0, "finished")),
            SpiderResult("b", "finished", stats(2, 3, 1, "finished")),
        ],
    )
    two = RunResult("run", [SpiderResult("a", "shutdown", stats(0, 7, 0, "shutdown"))])
    merged = merge_results("run", [one, two])
    assert [s.spider for s in merged.spiders] == ["a", "b"]
    a, b = merged.spiders
    assert a.reason == a.stats["finish_reason"] == "shutdown" and not merged.ok
    assert a.stats["crawler/reextract/pages"] == 17 and merged.stat("crawler/reextract/pages") == 20
    assert a.stats["start_time"].second == 0 and a.stats["finish_time"].second == 1
    assert a.stats["elapsed_time_seconds"] == 61.0
    assert b.errors == 1 and merged.stat("spider_exceptions/count") == 1
    assert merge_results("run", [one]).ok is False  # b's error
    assert RunResult("run", one.spiders[:1], failures=["a worker died"]).ok is False


def test_the_pages_are_shared_out_whole_and_small_runs_stay_in_one_process() -> None:
    from crawler.crawling.replay import PARALLEL_FROM, Plan, default_workers, split

    plan = Plan(Path("."), {"a": [{"n": i} for i in range(7)], "b": [{"n": 100}]})
    shares = split(plan, 2)
    assert [s.pages for s in shares] == [
        {"a": plan.pages["a"][:3]},
        {"a": plan.pages["a"][3:], "b": plan.pages["b"]},
    ]
    assert split(plan, 1)[0].pages == plan.pages
    assert len(split(plan, 20)) == 7  # no worker without pages
    assert default_workers(PARALLEL_FROM - 1) == 1
    assert cli("reextract", "--workers", "0").returncode == 2
    assert 1 <= default_workers(100_000) <= len(os.sched_getaffinity(0))


def test_the_start_up_collects_nothing_and_the_command_leaves_the_collector_as_it_was(
    tmp_path: Path,
) -> None:
    import gc

    from crawler.cli import main
    from crawler.commands.reextract import _start_up

    with _start_up():
        assert not gc.isenabled()  # imports and the plan: no collection
        made = [object() for _ in range(3)]  # noqa: F841 - live through the freeze
    assert gc.isenabled() and gc.get_freeze_count() > 0  # what start-up made is frozen
    gc.unfreeze()
    gc.disable()
    try:
        with _start_up():
            pass
        assert not gc.isenabled() and gc.get_freeze_count() == 0  # a caller's choice stays
    finally:
        gc.enable()

    shutil.copytree(DATA / "archive_v1", tmp_path, dirs_exist_ok=True)
    assert main(["reextract", "--archive", str(tmp_path)]) == 0  # nothing to re-parse
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["reextract", "--archive", str(tmp_path / "missing")]) == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_replay_is_not_capped_and_runs_each_response_output_in_one_task() -> None:
    from crawler.crawling.replay import Plan, replay_settings
    from crawler.crawling.runner import project_settings

    assert project_settings().getint("CLOSESPIDER_PAGECOUNT") > 0  # a crawl's cap
    settings = project_settings(replay_settings(Plan(Path("."))))
    assert settings.getint("CLOSESPIDER_PAGECOUNT") == 0  # every stored page is re-parsed
    assert settings.getint("CONCURRENT_ITEMS") == 1
    tuned = replay_settings(
        Plan(Path(".")), settings={"CONCURRENT_ITEMS": 8, "CLOSESPIDER_PAGECOUNT": 5}
    )
    assert (tuned["CONCURRENT_ITEMS"], tuned["CLOSESPIDER_PAGECOUNT"]) == (8, 5)  # -s wins


def test_a_replay_counts_its_stats_as_scrapys_collector_does() -> None:
    from types import SimpleNamespace

    from scrapy.statscollectors import MemoryStatsCollector

    from crawler.crawling.replay import Plan, ReplayStats, replay_settings

    assert replay_settings(Plan(Path(".")))["STATS_CLASS"] == "crawler.crawling.replay.ReplayStats"
    crawler = SimpleNamespace(
        settings=SimpleNamespace(getbool=lambda *_: False), spider=SimpleNamespace(name="qdnd")
    )
    collected = []
    for cls in (MemoryStatsCollector, ReplayStats):
        stats = cls(crawler)
        stats.open_spider()
        for n in (1, 2, 3):
            stats.inc_value("crawler/reextract/pages")
            stats.inc_value("crawler/raw/bytes", n * 100, start=7)
            stats.max_value("memusage/max", 10 - n)
            stats.min_value("first", n)
        stats.set_value("finish_reason", "finished")
        stats.close_spider(reason="finished")
        collected.append((stats.get_stats(), stats.spider_stats, stats.get_value("first")))
    assert collected[0] == collected[1]
    assert collected[1][0]["crawler/raw/bytes"] == 607 and collected[1][1]["qdnd"]


def test_the_rows_read_ahead_in_another_process_are_the_plans_rows(
    crawled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.crawling import stored_rows
    from crawler.crawling.fingerprints import old_fingerprints
    from crawler.crawling.stored_rows import RowsAhead, SelectionError, select_rows

    ahead = RowsAhead(crawled, ["qdnd.vn"], None)
    assert ahead.process is not None and ahead.process.pid != os.getpid()  # forked
    rows, old = ahead.rows()
    assert rows == select_rows(crawled, ["qdnd.vn"]) and rows and old is None
    assert {row["site"] for row in rows} == {"qdnd.vn"}
    assert not ahead.process.is_alive()
    # With the fingerprints, read in the same process: those of the rows' own archive rows.
    rows, old = RowsAhead(crawled, ["qdnd.vn"], None, fingerprints=True).rows()
    assert old == old_fingerprints(crawled, rows) and set(old) == {r["url_key"] for r in rows}

    with pytest.raises(SelectionError, match="missing"):
        RowsAhead(tmp_path / "missing").rows()  # the archive's own one line

    monkeypatch.setattr(stored_rows, "_select", lambda *_: os._exit(7))
    with pytest.raises(SelectionError, match="ended with status 7 before it sent them"):
        RowsAhead(crawled).rows()


def test_reextract_leaves_its_objects_to_the_process_exit(tmp_path: Path) -> None:
    """No last collection of everything when the command's process exits (the run's heap
    is frozen by then); the collector is as it was when the command returns."""
    shutil.copytree(DATA / "archive_v1", tmp_path, dirs_exist_ok=True)
    script = textwrap.dedent(
        f"""
        import atexit, gc, sys
        atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
        from crawler.cli import main
        status = main(["reextract", "--archive", {str(tmp_path)!r}])
        print("frozen after the command:", gc.get_freeze_count() > 0)
        sys.exit(status)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["frozen after the command: False", "frozen at exit: True"]


def test_the_unchanged_fingerprint_tells_apart_values_that_write_alike() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from crawler.crawling.fingerprints import fingerprint

    base = {"url": "u", "title": "t", "tags": ["a", "b"], "summary": None, "images": []}
    others = [
        {**base, "tags": ["a,b"]},
        {**base, "tags": ["ab"]},
        {**base, "tags": ["a", "b", ""]},
        {**base, "summary": ""},
        {**base, "summary": "None"},
        {**base, "images": [{"url": "x", "caption": None}]},
        {**base, "images": [{"url": "x", "caption": ""}]},
        {**base, "images": [{"url": "x", "credit": None}]},
        {**base, "title": "t", "url": "ut"},
        {**base, "published_at": datetime(2025, 1, 1, tzinfo=UTC)},
        {**base, "published_at": datetime(2025, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))},
        {**base, "published_at": "2025-01-01 00:00:00+00:00"},
    ]
    prints = [fingerprint(row) for row in [base, *others]]
    assert len(set(prints)) == len(prints)
    ignored = {**base, "fetched_at": datetime.now(UTC), "crawl_run": "r", "parser_version": "9"}
    assert fingerprint(ignored) == fingerprint(base)
    assert fingerprint(dict(reversed(base.items()))) == fingerprint(base)
