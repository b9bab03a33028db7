"""crawler search: FTS5 over the newest row of each article, Vietnamese with and without
marks (đ included), English, Chinese; phrases, filters, safe queries; an index that
follows the archive (new rows, compaction, deleted files) and rebuilds to the same answers."""

from __future__ import annotations

import json
import os
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import SITES, synthetic_row
from crawler.archive import ArchiveWriter
from crawler.archive import search as search_module
from crawler.archive.layout import search_index_path
from crawler.archive.search import search_note
from crawler.cli import main
from crawler.items import sha256_hex
from crawler.text.search_text import fts_query, index_column, index_text, parse_query, snippet

RUN1 = "20260101T000000Z-one"
RUN2 = "20260201T000000Z-two"

ARTICLES = [
    # (n, site index, published, title, body)
    (1, 0, "2025-03-02", "Tuần tra trên quần đảo Trường Sa", "Cán bộ chiến sĩ hải quân tuần tra."),
    (2, 2, "2025-04-10", "Đồn biên phòng Đà Nẵng", "Đội tuần tra của đồn đi dọc bờ biển."),
    (3, 1, "2025-05-05", "Navy drill", "The aircraft carrier group sailed near the reef."),
    (4, 5, "2024-11-11", "解放军演习", "中国人民解放军海军在南海举行联合演习。"),
    (5, 3, "2025-06-01", "Tin biển đảo", "Đoàn công tác đến Sa Huỳnh rồi về Trường Giang."),
    (6, 0, "2023-01-20", "Hội nghị quân sự", "Bàn về chủ quyền biển đảo và an ninh."),
    (7, 4, "2025-07-07", "Script tag", "A body that mentions </script> and a = b and [brackets]."),
]


def row(n: int, site: int, published: str, title: str, body: str, run: str) -> dict[str, Any]:
    base = synthetic_row(random.Random(n), n, None, run)
    domain, spider, language, pattern = SITES[site]
    url = pattern.format(n=n)
    when = datetime.fromisoformat(published).replace(hour=5, tzinfo=UTC)
    return {
        **base,
        "url": url,
        "url_key": sha256_hex(url),
        "site": domain,
        "spider": spider,
        "language": language,
        "title": title,
        "summary": None,
        "body": body,
        "content_hash": sha256_hex(body),
        "published_at": when,
        "fetched_at": datetime(2026, 1, 1, tzinfo=UTC)
        if run == RUN1
        else datetime(2026, 2, 1, tzinfo=UTC),
    }


def write(root: Path, rows: list[dict[str, Any]], run: str) -> None:
    with ArchiveWriter(root, run, flush_rows=2) as writer:
        for r in rows:
            writer.add(r)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "an [odd] archive"
    write(root, [row(*a, run=RUN1) for a in ARTICLES], RUN1)
    return root


def hits(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["search", *args, "--json", "--archive", str(root)]) == 0
    found: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return found


def titles(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    return [h["title"] for h in hits(root, capsys, *args)]


@pytest.mark.parametrize(
    "query", ["Trường Sa", "truong sa", "TRUONG SA", "trường sa", "quan dao truong sa"]
)
def test_vietnamese_with_and_without_marks(
    archive: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    assert titles(archive, capsys, query)[0] == "Tuần tra trên quần đảo Trường Sa"


@pytest.mark.parametrize("query", ["Đà Nẵng", "da nang", "DA NANG", "đà nẵng", "đồn", "don"])
def test_d_with_stroke_folds_to_d_on_both_sides(
    archive: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    assert "Đồn biên phòng Đà Nẵng" in titles(archive, capsys, query)


def test_d_with_stroke_is_folded_for_the_tokenizer() -> None:
    assert index_text("Đà Nẵng đội") == "Dà Nẵng dội"
    assert fts_query(parse_query("ĐỘI")) == '"DỘI"'


def test_a_column_is_folded_as_each_text_alone() -> None:
    import pyarrow as pa

    texts = ["Đà Nẵng đội", "解放军 海军演习", None, "", "mixed 南海 and đ", "军", "plain"]
    assert index_column(pa.array(texts)) == [index_text(t or "").encode() for t in texts]


def test_english_is_case_insensitive_and_needs_every_word(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert titles(archive, capsys, "Aircraft CARRIER") == ["Navy drill"]
    assert titles(archive, capsys, "aircraft submarine") == []


@pytest.mark.parametrize("query", ["海军", "南海", "举行联合", "解放军海军", "军"])
def test_chinese_is_found_by_two_characters_or_more(
    archive: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    assert titles(archive, capsys, query) == ["解放军演习"]


def test_chinese_characters_not_next_to_each_other_are_no_phrase(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert titles(archive, capsys, "空军") == []
    assert titles(archive, capsys, "军南") == []  # both characters are there, never as 军南


def test_a_quoted_phrase_needs_its_words_in_order(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = titles(archive, capsys, "Trường Sa")
    assert set(loose) == {"Tuần tra trên quần đảo Trường Sa", "Tin biển đảo"}
    assert titles(archive, capsys, '"Trường Sa"') == ["Tuần tra trên quần đảo Trường Sa"]
    assert titles(archive, capsys, '"sa truong"') == []


def test_a_hit_in_the_title_ranks_first(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = titles(archive, capsys, "biển đảo")
    assert found == ["Tin biển đảo", "Hội nghị quân sự"]


def test_a_broad_query_ranks_the_most_recently_published_matches_in_any_index(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RANKED_AT_MOST", 1)
    assert titles(archive, capsys, "tuần tra", "-n", "5") == ["Đồn biên phòng Đà Nẵng"]
    # written last, published first: its place in the ranking window is its publish date
    write(archive, [row(11, 0, "2020-01-01", "Cũ", "Tuần tra năm xưa.", RUN2)], RUN2)
    assert titles(archive, capsys, "tuần tra", "-n", "5") == ["Đồn biên phòng Đà Nẵng"]
    assert main(["search", "--rebuild", "--archive", str(archive)]) == 0
    assert titles(archive, capsys, "tuần tra", "-n", "5") == ["Đồn biên phòng Đà Nẵng"]


def test_site_since_until_and_n(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert titles(archive, capsys, "tuần tra", "--site", "bienphong.com.vn") == [
        "Đồn biên phòng Đà Nẵng"
    ]
    assert titles(archive, capsys, "tuần tra", "--site", "qdnd") == [
        "Tuần tra trên quần đảo Trường Sa"
    ]
    assert titles(archive, capsys, "biển đảo", "--since", "2025-01-01") == ["Tin biển đảo"]
    assert titles(archive, capsys, "biển đảo", "--until", "2023-01-20") == ["Hội nghị quân sự"]
    assert titles(archive, capsys, "biển đảo", "--since", "2025-06-02") == []
    assert titles(archive, capsys, "biển đảo", "--since", "2025-06-01") == ["Tin biển đảo"]
    assert titles(archive, capsys, "biển đảo", "--until", "2023-01-19") == []
    assert titles(archive, capsys, "biển đảo", "--until", "2023-01-31") == ["Hội nghị quân sự"]
    assert titles(
        archive, capsys, "biển đảo", "--since", "2023-01-01", "--until", "2023-01-31"
    ) == ["Hội nghị quân sự"]
    assert titles(archive, capsys, "biển đảo", "--since", "2025-07-01") == []
    assert len(titles(archive, capsys, "tuần tra", "-n", "1")) == 1


def test_each_hit_has_title_site_date_url_and_a_snippet_around_the_hit(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (hit,) = hits(archive, capsys, "carrier")
    assert hit["site"] == "en.qdnd.vn"
    assert hit["date"] == "2025-05-05"
    assert hit["url"] == "https://en.qdnd.vn/military/news/article-3"
    assert hit["url_key"] == sha256_hex(hit["url"])
    assert "«carrier»" in hit["snippet"]
    assert main(["search", "carrier", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1. Navy drill"
    assert "en.qdnd.vn · 2025-05-05 · https://en.qdnd.vn/military/news/article-3" in out


def test_snippet_is_cut_around_the_first_hit() -> None:
    text = "lorem ipsum " * 50 + "quần đảo Trường Sa " + "dolor sit " * 50
    shown = snippet(text, parse_query("truong sa"), width=80)
    assert shown.startswith("…") and shown.endswith("…")
    assert "«Trường» «Sa»" in shown
    assert len(shown) < 120


@pytest.mark.parametrize("query", ['"', "*", "-", "(", "^", ":", '""', "''", "...", "*=+", "«»"])
def test_a_query_of_only_punctuation_is_a_one_line_error(
    archive: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    assert main(["search", query, "--archive", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no word to search for" in err


@pytest.mark.parametrize(
    ("query", "expected"),
    [("NEAR(", ["Navy drill"]), ("OR", []), ("and", ["Script tag"]), ("NOT", [])],
)
def test_fts5_operators_are_searched_as_words(
    archive: Path, capsys: pytest.CaptureFixture[str], query: str, expected: list[str]
) -> None:
    assert titles(archive, capsys, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        'NEAR(tuần tra) OR "',
        "tuần OR tra",
        "title:tuần",
        "-tuần tra",
        "tuần*",
        "tuần AND NOT tra",
        '"unclosed tuần tra',
        "{title}: tuần",
        "tuần\x00tra",
    ],
)
def test_fts5_syntax_in_a_query_is_only_text(
    archive: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    # no syntax error, no traceback; every variant still needs the plain words
    found = titles(archive, capsys, query)
    assert set(found) <= {"Tuần tra trên quần đảo Trường Sa", "Đồn biên phòng Đà Nẵng"}


def test_script_tags_and_equals_are_text(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (hit,) = hits(archive, capsys, "</script>")
    assert hit["title"] == "Script tag"
    assert "</«script»>" in hit["snippet"]
    assert titles(archive, capsys, "[brackets]") == ["Script tag"]


def test_rebuilding_gives_the_same_answers(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = [["truong sa"], ["biển đảo"], ["海军"], ["tuần tra", "--site", "qdnd"]]
    before = [hits(archive, capsys, *q) for q in queries]
    shutil.rmtree(search_index_path(archive).parent)
    assert [hits(archive, capsys, *q) for q in queries] == before
    assert main(["search", "--rebuild", "--archive", str(archive)]) == 0
    assert "index rebuilt from" in capsys.readouterr().err
    assert [hits(archive, capsys, *q) for q in queries] == before


def test_new_rows_are_found_without_a_rebuild_and_only_the_newest_row(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert titles(archive, capsys, "carrier") == ["Navy drill"]
    write(
        archive,
        [
            row(3, 1, "2025-05-05", "Navy drill, updated", "The frigate sailed alone.", RUN2),
            row(8, 0, "2025-08-08", "Bài mới", "Tàu ngầm Kilo về cảng Cam Ranh.", RUN2),
        ],
        RUN2,
    )
    assert titles(archive, capsys, "cam ranh") == ["Bài mới"]
    assert titles(archive, capsys, "carrier") == []  # the old row is no longer the newest
    assert titles(archive, capsys, "frigate") == ["Navy drill, updated"]
    assert search_note(archive) is None


def test_a_file_added_to_a_partition_the_index_has_listed_is_found(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "SETTLE_NS", 0)  # trust directory times at once
    assert titles(archive, capsys, "frigate") == []
    assert titles(archive, capsys, "carrier") == ["Navy drill"]  # its partition listed
    write(archive, [row(10, 1, "2025-05-06", "Same month", "A frigate too.", RUN2)], RUN2)
    assert titles(archive, capsys, "frigate") == ["Same month"]


def test_a_new_partition_and_a_partition_gone_are_seen_by_the_next_search(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search whose partition directories are all as the index last read them reads
    no list of files; one added or removed is seen."""
    monkeypatch.setattr(search_module, "SETTLE_NS", 0)  # trust directory times at once
    assert titles(archive, capsys, "carrier") == ["Navy drill"]
    write(archive, [row(11, 1, "2031-02-03", "Far month", "A frigate far ahead.", RUN2)], RUN2)
    assert titles(archive, capsys, "frigate") == ["Far month"]
    (far,) = [p.parent for p in archive.rglob("*.parquet") if "year=2031" in str(p)]
    shutil.rmtree(far)
    assert titles(archive, capsys, "frigate") == []
    assert titles(archive, capsys, "carrier") == ["Navy drill"]


def test_an_older_row_is_searchable_again_when_the_newer_file_goes(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(archive, [row(3, 1, "2025-05-05", "Navy drill, updated", "Frigate.", RUN2)], RUN2)
    assert titles(archive, capsys, "carrier") == []
    (newer,) = [p for p in archive.rglob("*.parquet") if RUN2 in p.name]
    newer.unlink()
    assert titles(archive, capsys, "carrier") == ["Navy drill"]
    assert titles(archive, capsys, "frigate") == []


def test_compaction_keeps_the_same_answers(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(archive, [row(3, 1, "2025-05-05", "Navy drill, updated", "Frigate.", RUN2)], RUN2)
    queries = [["truong sa"], ["frigate"], ["carrier"], ["海军"], ["don"]]
    before = [hits(archive, capsys, *q) for q in queries]
    files_before = set(archive.rglob("*.parquet"))
    assert main(["compact", "--archive", str(archive)]) == 0
    capsys.readouterr()
    assert set(archive.rglob("*.parquet")) != files_before
    assert search_note(archive) is not None  # behind until the next search
    done = search_module.sync(archive)
    assert done.files_removed > 0 and done.files_added > 0
    assert not done.rebuilt  # the same rows in new files: only their file changes
    assert [hits(archive, capsys, *q) for q in queries] == before
    assert search_note(archive) is None


def test_validate_notes_a_stale_or_broken_index_without_failing(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--archive", str(archive)]) == 0
    assert "search index" not in capsys.readouterr().out  # never built: nothing said
    titles(archive, capsys, "carrier")
    write(archive, [row(9, 0, "2025-09-09", "Chín", "Một bài nữa.", RUN2)], RUN2)
    assert main(["validate", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "search index behind the archive (1 files not yet indexed" in out
    assert "crawler search --rebuild --archive" in out
    search_index_path(archive).write_bytes(b"not a database")
    assert main(["validate", "--archive", str(archive)]) == 0
    assert "search index missing or unreadable" in capsys.readouterr().out
    assert titles(archive, capsys, "chín") == ["Chín"]  # a broken index is rebuilt
    assert search_note(archive) is None


def test_no_archive_and_empty_query_are_one_line_errors(
    tmp_path: Path, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "x", "--archive", str(tmp_path / "none")]) == 2
    assert "no archive at" in capsys.readouterr().err
    assert main(["search", "--archive", str(archive)]) == 2
    assert "give words to search for" in capsys.readouterr().err
    assert main(["search", " ".join(["tuần"] * 33), "--archive", str(archive)]) == 2
    assert "too many words (33): a query takes at most 32" in capsys.readouterr().err
    assert main(["search", "x", "-n", "0", "--archive", str(archive)]) == 2
    assert "-n must be at least 1" in capsys.readouterr().err


def test_the_help_states_the_ranking_window_the_index_uses() -> None:
    from crawler.commands import search as command

    assert command.RANKED_AT_MOST == search_module.RANKED_AT_MOST


def test_dates_are_the_sites_local_days_as_in_export(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    late = row(12, 0, "2025-08-09", "Tuần tra đêm", "Tuần tra lúc một giờ sáng.", RUN2)
    late["published_at"] = datetime(2025, 8, 9, 18, 30, tzinfo=UTC)  # 01:30 on the 10th in Hà Nội
    write(archive, [late], RUN2)
    assert titles(archive, capsys, "tuần tra đêm", "--since", "2025-08-10") == ["Tuần tra đêm"]
    assert titles(archive, capsys, "tuần tra đêm", "--until", "2025-08-09") == []
    assert titles(
        archive, capsys, "tuần tra đêm", "--since", "2025-08-10", "--until", "2025-08-10"
    ) == ["Tuần tra đêm"]
    for window, expected in ((("--since", "2025-08-10"), 1), (("--until", "2025-08-09"), 0)):
        assert main(["export", "--archive", str(archive), "--site", "qdnd", *window]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert sum("Tuần tra đêm" in line for line in lines) == expected


def test_the_sites_zones_are_kept_in_the_index_and_read_again_after_new_rows(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import timedelta, timezone

    from crawler.archive.search import store_zones, stored_zones

    assert titles(archive, capsys, "tuần tra", "--since", "2025-01-01")
    zones, default = stored_zones(archive) or ({}, None)
    assert zones["qdnd.vn"].utcoffset(None) == timedelta(hours=7)
    assert zones["81.cn"].utcoffset(None) == timedelta(hours=8)
    # What is kept is what is used: a zone 20 hours east moves 2025-04-10 05:00 UTC a day on.
    store_zones(archive, {**zones, "bienphong.com.vn": timezone(timedelta(hours=20))}, default)
    assert titles(archive, capsys, "đồn biên phòng", "--until", "2025-04-10") == []
    write(archive, [row(13, 0, "2025-08-01", "Mới", "Một bài mới.", RUN2)], RUN2)
    assert titles(archive, capsys, "đồn biên phòng", "--until", "2025-04-10") == [
        "Đồn biên phòng Đà Nẵng"
    ]


@pytest.mark.parametrize("build", [["--rebuild"], ["Navy"]])
def test_a_rebuild_keeps_the_zones_for_the_first_search_with_dates(
    archive: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    build: list[str],
) -> None:
    """Loading them (every spider) was most of the time of the first search with dates
    after a rebuild, whether asked for (--rebuild) or made by a search."""
    from crawler.archive.search import stored_zones
    from crawler.commands import search as command

    assert stored_zones(archive) is None
    assert main(["search", *build, "--archive", str(archive)]) == 0
    capsys.readouterr()
    zones, _ = stored_zones(archive) or ({}, None)
    assert zones["qdnd.vn"].utcoffset(None) == timedelta(hours=7)

    def loaded() -> None:
        raise AssertionError("the zones were loaded again")

    monkeypatch.setattr(command, "site_zones", loaded)
    assert titles(archive, capsys, "tuần tra", "--since", "2025-01-01")


def test_the_index_keeps_no_text_and_hits_are_read_from_their_rows(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (hit,) = hits(archive, capsys, "carrier")
    data = search_index_path(archive).read_bytes()
    for stored in (b"carrier group sailed", b"Navy drill", hit["url"].encode()):
        assert stored not in data
    assert hit["title"] == "Navy drill" and "«carrier» group" in hit["snippet"]


def test_a_newer_row_compacted_before_it_was_indexed_replaces_the_old_one(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert titles(archive, capsys, "carrier") == ["Navy drill"]
    write(archive, [row(3, 1, "2025-05-05", "Navy drill, updated", "Frigate.", RUN2)], RUN2)
    assert main(["compact", "--archive", str(archive)]) == 0  # drops the older row
    capsys.readouterr()
    # the index must forget the old row's words, and its text is gone: rebuilt whole
    assert search_module.sync(archive).rebuilt
    after = [hits(archive, capsys, q) for q in ("carrier", "frigate", "truong sa")]
    assert [[h["title"] for h in found] for found in after[:2]] == [[], ["Navy drill, updated"]]
    shutil.rmtree(search_index_path(archive).parent)
    assert [hits(archive, capsys, q) for q in ("carrier", "frigate", "truong sa")] == after


def test_a_superseded_row_moved_to_another_file_is_read_there(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert titles(archive, capsys, "carrier") == ["Navy drill"]
    write(archive, [row(3, 1, "2025-05-05", "Navy drill, updated", "Frigate.", RUN2)], RUN2)
    (old,) = [p for p in archive.rglob("*.parquet") if "en.qdnd" in str(p) and RUN1 in p.name]
    old.rename(old.with_name("part-zz-moved.parquet"))  # read after the newer row's file
    done = search_module.sync(archive)
    assert not done.rebuilt and done.files_removed == 1 and done.files_added == 2
    after = [hits(archive, capsys, q) for q in ("carrier", "frigate", "truong sa")]
    assert [[h["title"] for h in found] for found in after[:2]] == [[], ["Navy drill, updated"]]
    shutil.rmtree(search_index_path(archive).parent)
    assert [hits(archive, capsys, q) for q in ("carrier", "frigate", "truong sa")] == after


def test_a_file_compacted_between_the_index_and_the_hits_is_followed(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = hits(archive, capsys, "tuần tra")
    assert main(["compact", "--archive", str(archive)]) == 0
    capsys.readouterr()
    # the index still names the old files; the hits' rows are found in the new ones
    found = search_module.search(archive, parse_query("tuần tra"))
    assert [h.as_dict() for h in found] == before
    assert search_note(archive) is None


def test_a_killed_rebuild_leaves_the_index_as_it_was(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = hits(archive, capsys, "truong sa")

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(search_module, "_add_texts", killed)
    with pytest.raises(KeyboardInterrupt):
        search_module.rebuild(archive)
    assert sorted(p.name for p in search_index_path(archive).parent.iterdir()) == ["index.sqlite3"]
    monkeypatch.undo()
    assert hits(archive, capsys, "truong sa") == before


def test_a_killed_builds_temporary_index_is_deleted_by_the_next_build(archive: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = search_index_path(archive).parent
    folder.mkdir()
    abandoned = folder / f".index.sqlite3.{dead.pid}.tmp"
    alive = folder / f".index.sqlite3.{os.getppid()}.tmp"  # another build, still running
    abandoned.write_bytes(b"half an index")
    alive.write_bytes(b"being written")
    search_module.rebuild(archive)
    assert not abandoned.exists() and alive.exists()


def test_a_file_quarantined_between_the_index_and_the_hits_is_caught_up(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(archive, [row(3, 1, "2025-05-05", "Navy drill, updated", "Frigate.", RUN2)], RUN2)
    assert titles(archive, capsys, "frigate") == ["Navy drill, updated"]
    (newer,) = [p for p in archive.rglob("*.parquet") if RUN2 in p.name]
    newer.unlink()  # as a quarantine would: the older row is the newest again
    assert [h.title for h in search_module.search(archive, parse_query("drill"))] == ["Navy drill"]


def test_an_article_whose_publish_date_changed_has_one_doc_in_a_rebuild(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the newer row sits in another partition (month), read after the older one or before
    write(archive, [row(3, 1, "2025-08-01", "Navy drill, moved", "Frigate.", RUN2)], RUN2)
    write(archive, [row(5, 3, "2024-01-01", "Tin cũ hơn", "Tàu ngầm.", RUN2)], RUN2)
    incremental = [hits(archive, capsys, q) for q in ("carrier", "frigate", "tàu ngầm", "giang")]
    assert [[h["title"] for h in found] for found in incremental] == [
        [],
        ["Navy drill, moved"],
        ["Tin cũ hơn"],
        [],
    ]
    assert main(["search", "--rebuild", "--archive", str(archive)]) == 0
    capsys.readouterr()
    assert [hits(archive, capsys, q) for q in ("carrier", "frigate", "tàu ngầm", "giang")] == (
        incremental
    )


def test_a_date_window_is_each_sites_local_days_at_a_months_edge(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The window is a range of rowids (publish times) widened by a day: an article just
    across a month's edge in UTC is found on its site's local day, east or west of UTC."""
    from datetime import timedelta, timezone

    from crawler.archive.search import store_zones, stored_zones

    east = row(21, 0, "2025-01-31", "Tuần tra đầu tháng", "Tuần tra biên giới.", RUN2)
    east["published_at"] = datetime(2025, 1, 31, 18, 30, tzinfo=UTC)  # 1 February in Hà Nội
    west = row(22, 2, "2025-03-01", "Tuần tra cuối tháng", "Tuần tra bờ biển.", RUN2)
    west["published_at"] = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
    write(archive, [east, west], RUN2)
    assert titles(archive, capsys, "tuần tra", "--since", "2025-01-01")
    zones, default = stored_zones(archive) or ({}, None)
    # bienphong.com.vn 11 hours west of UTC: 28 February there
    store_zones(archive, {**zones, "bienphong.com.vn": timezone(timedelta(hours=-11))}, default)
    month = ("tuần tra", "-n", "20")
    february = titles(archive, capsys, *month, "--since", "2025-02-01", "--until", "2025-02-28")
    assert sorted(february) == ["Tuần tra cuối tháng", "Tuần tra đầu tháng"]
    assert titles(archive, capsys, *month, "--until", "2025-01-31") == []
    assert titles(archive, capsys, *month, "--since", "2025-03-01", "--until", "2025-03-31") == [
        "Tuần tra trên quần đảo Trường Sa"
    ]
    assert titles(archive, capsys, *month, "--since", "2025-02-28", "--until", "2025-02-28") == [
        "Tuần tra cuối tháng"
    ]


def test_a_date_window_finds_articles_of_the_first_days_of_1970(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Their ids are not their publish times (those are below UNDATED_IDS)."""
    early = row(23, 1, "1970-01-05", "Early drill", "A drill long ago.", RUN2)
    undated = row(24, 1, "1970-01-05", "Undated drill", "A drill of no date.", RUN2)
    undated["published_at"] = None
    write(archive, [early, undated], RUN2)
    assert sorted(titles(archive, capsys, "drill", "-n", "20")) == [
        "Early drill",
        "Navy drill",
        "Undated drill",
    ]
    for window in (
        ("--since", "1970-01-05", "--until", "1970-01-05"),
        ("--since", "1970-01-04", "--until", "1970-01-10"),
        ("--until", "1970-01-06"),
    ):
        assert titles(archive, capsys, "drill", *window) == ["Early drill"]
    assert titles(archive, capsys, "drill", "--since", "1970-01-06", "--until", "1970-01-31") == []


def test_a_broad_query_in_a_date_window_ranks_the_newest_matches_in_it(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RANKED_AT_MOST", 1)
    assert titles(archive, capsys, "tuần tra", "--until", "2025-03-31") == [
        "Tuần tra trên quần đảo Trường Sa"
    ]
    assert titles(archive, capsys, "tuần tra", "--since", "2025-03-01", "-n", "5") == [
        "Đồn biên phòng Đà Nẵng"
    ]


def test_a_word_spelled_as_a_facet_token_is_only_searched_in_the_text(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = search_module._token("s", "qdnd.vn")  # what every qdnd.vn article has in facets
    assert titles(archive, capsys, token) == []
    assert titles(archive, capsys, token.upper(), "--site", "qdnd.vn") == []
    write(archive, [row(25, 1, "2025-02-02", "Hash", f"A hash: {token}.", RUN2)], RUN2)
    assert titles(archive, capsys, "hash", token) == ["Hash"]


@pytest.mark.parametrize(
    "query",
    [("tuần tra",), ("biển đảo", "--site", "qdnd"), ('"biển đảo"', "--since", "2023-01-01")],
)
def test_leaving_out_the_column_filter_keeps_the_scores(
    archive: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    query: tuple[str, ...],
) -> None:
    assert search_module._words(parse_query(query[0])).startswith("(")
    without = hits(archive, capsys, *query)
    assert without and all(hit["score"] for hit in without)
    monkeypatch.setattr(
        search_module, "_words", lambda terms: "{title text} : (" + fts_query(terms) + ")"
    )
    assert hits(archive, capsys, *query) == without
