"""crawler search's ranking: FTS5's bm25 computed again from counts kept in the index, with
the same scores as the built-in, and counts that follow every change of the index."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import search as search_module
from crawler.archive.layout import search_index_path
from crawler.archive.search import sync
from crawler.cli import main
from crawler.text.search_text import parse_query
from tests.test_search import ARTICLES, RUN1, RUN2, hits, row, write

WORDS = [
    "biển",
    "đảo",
    "tuần",
    "tra",
    "chủ",
    "quyền",
    "hải",
    "quân",
    "Trường",
    "Sa",
    "navy",
    "drill",
    "海军",
    "演习",
]
LONG = "abcdefghijklmnopqrstu"  # as long as a facet token: the query gets the column filter


def bulk(n: int, run: str) -> list[dict[str, Any]]:
    """Articles of varied lengths made of a few words, so that terms repeat, in the title
    and the text, and their counts differ."""
    rng = random.Random(n)
    out = []
    for i in range(n):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
        if i % 7 == 0:
            body += f" {LONG}"
        day = f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}"
        out.append(row(100 + i, i % 6, day, title, body, run))
    return out


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    write(root, [row(*a, run=RUN1) for a in ARTICLES] + bulk(60, RUN1), RUN1)
    sync(root)
    return root


QUERIES = [
    ["biển đảo"],
    ['"biển đảo"'],
    ["tuần tra", "--site", "qdnd"],
    ['"chủ quyền"', "--since", "2024-06-01"],
    [f"navy {LONG}"],
    ["海"],
    ["biển đảo tuần tra chủ quyền hải quân"],  # many words, each scored per row
]


def builtin_bm25(root: Path, query: list[str]) -> dict[bytes | str, float]:
    """Every match of the query's words and its score by FTS5's own bm25 (no filter)."""
    match = search_module._words(parse_query(query[0]))
    sql = "SELECT d.url_key, bm25(fts, ?, 1.0, 0.0) FROM fts JOIN docs d ON d.id = fts.rowid"
    return dict(execute(root, sql + " WHERE fts MATCH ?", search_module.TITLE_WEIGHT, match))


def ranked(root: Path, query: list[str]) -> dict[bytes | str, float]:
    """Every match of the query's words and the score search ranks it by."""
    terms = parse_query(query[0])
    connection = search_module._connect_ranking(search_index_path(root))
    try:
        rows = search_module._best(
            connection, terms, "fts MATCH ?", [search_module._words(terms)], 1000
        )
    finally:
        connection.close()
    return {key: score for key, *_, score in rows}


def execute(root: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """One statement on the index, committed, its connection closed (an open one would
    drop apsw's locks on the file when closed later)."""
    connection = sqlite3.connect(search_index_path(root), isolation_level=None)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def cached(root: Path) -> dict[str, int]:
    return dict(execute(root, "SELECT phrase, docs FROM phrase_docs"))


def counted(root: Path, phrase: str) -> int:
    return int(execute(root, "SELECT count(*) FROM fts WHERE fts MATCH ?", phrase)[0][0])


@pytest.mark.parametrize("query", [q for q in QUERIES if len(q) == 1])
def test_the_scores_are_fts5s_bm25_to_the_last_bit(archive: Path, query: list[str]) -> None:
    expected = builtin_bm25(archive, query)
    assert len(expected) > 3 and len(set(expected.values())) > 3
    assert ranked(archive, query) == expected  # first: counted; then from the cache
    assert ranked(archive, query) == expected


def test_site_and_dates_rank_as_the_builtin_bm25_does(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same hits in the same order, with the same scores, as with FTS5's bm25 (its
    facet phrases weigh 0)."""
    ours = [hits(archive, capsys, *q, "-n", "50") for q in QUERIES]
    weights = f"{search_module.TITLE_WEIGHT}, 1.0, 0.0"

    def builtin(
        connection: Any, terms: Any, where: str, params: list[Any], limit: int, scored: bool
    ) -> Any:
        source = "fts JOIN docs d ON d.id = fts.rowid" if "d." in where else "fts"
        ranked = execute(
            archive,
            f"SELECT fts.rowid, bm25(fts, {weights}) AS score FROM {source} WHERE {where}"
            " ORDER BY score LIMIT ?",
            *params,
            limit,
        )
        return [
            (
                *execute(
                    archive,
                    "SELECT d.url_key, f.path, d.row, d.site, d.spider, d.published FROM docs d"
                    " JOIN files f ON f.id = d.file WHERE d.id = ?",
                    doc_id,
                )[0],
                score,
            )
            for doc_id, score in ranked
        ]

    monkeypatch.setattr(search_module, "_best", builtin)
    assert [hits(archive, capsys, *q, "-n", "50") for q in QUERIES] == ours
    assert all(ours)


def words_counted(root: Path) -> dict[str, int]:
    """Every word of the index and how many articles hold it, as FTS5 counts them now."""
    connection = sqlite3.connect(search_index_path(root))
    try:
        connection.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab('main', 'fts', 'row')")
        return dict(connection.execute("SELECT term, doc FROM temp.v").fetchall())
    finally:
        connection.close()


def words_kept(root: Path) -> dict[str, int]:
    return dict(execute(root, "SELECT term, docs FROM word_docs"))


def test_words_are_counted_by_a_rebuild_other_terms_once_searched(archive: Path) -> None:
    assert len(words_kept(archive)) > 10
    assert words_kept(archive) == words_counted(archive)
    assert words_kept(archive)["bien"] == counted(archive, "biển")  # as the tokenizer folds it
    assert cached(archive) == {}
    ranked(archive, ['"biển đảo"'])
    ranked(archive, ["biển tuần"])
    ranked(archive, [f"navy {LONG}"])
    kept = cached(archive)
    assert set(kept) == {'("biển dảo")', f'{{title text}} : ("{LONG}")'}
    assert kept == {phrase: counted(archive, phrase) for phrase in kept}
    assert kept['("biển dảo")'] < words_kept(archive)["bien"]


def test_the_kept_counts_are_what_the_ranking_reads(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [hits(archive, capsys, *q) for q in QUERIES]
    execute(archive, "UPDATE word_docs SET docs = 1")
    words_changed = [hits(archive, capsys, *q) for q in QUERIES]
    assert words_changed[0] != before[0] and words_changed[1] == before[1]
    execute(archive, "UPDATE phrase_docs SET docs = 1")
    assert hits(archive, capsys, *QUERIES[1]) != before[1]


def test_a_sync_that_adds_or_removes_articles_brings_the_counts_up_to_date(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [hits(archive, capsys, *q) for q in QUERIES]
    kept, words = cached(archive), words_kept(archive)
    assert kept
    # new articles, and two superseded by rows without the words: fewer hold them
    write(
        archive,
        [
            row(6, 0, "2023-01-20", "Hội nghị", "Không còn gì.", RUN2),
            row(5, 3, "2025-06-01", "Tin", "Đoàn công tác.", RUN2),
            *bulk(30, RUN2)[20:],
        ],
        RUN2,
    )
    assert sync(archive).files_added
    # brought up to date by the sync itself, for the index as it is now
    (state,) = {state for (state,) in execute(archive, "SELECT state FROM phrase_docs")}
    assert execute(archive, "SELECT value FROM meta WHERE key = 'word_docs'") == [(state,)]
    connection = search_module._connect_ranking(search_index_path(archive))
    try:
        assert search_module._state(connection) == state
    finally:
        connection.close()
    assert set(cached(archive)) == set(kept) and cached(archive) != kept
    assert cached(archive) == {phrase: counted(archive, phrase) for phrase in kept}
    assert words_kept(archive) != words
    assert words_kept(archive) == words_counted(archive)
    after = [hits(archive, capsys, *q) for q in QUERIES]
    assert after != before
    assert main(["search", "--rebuild", "--archive", str(archive)]) == 0
    assert f"counted the articles of {len(kept)} terms" in capsys.readouterr().err
    # counted again in the new index (the same searches cost no more after a rebuild)
    assert cached(archive) == {phrase: counted(archive, phrase) for phrase in kept}
    assert [hits(archive, capsys, *q) for q in QUERIES] == after
    shutil.rmtree(search_index_path(archive).parent)
    assert [hits(archive, capsys, *q) for q in QUERIES] == after


def test_an_index_built_before_the_counts_were_kept_gets_them(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = hits(archive, capsys, "biển đảo")
    execute(archive, "DROP TABLE phrase_docs")
    execute(archive, "DROP TABLE word_docs")
    execute(archive, "DELETE FROM meta WHERE key = 'word_docs'")
    assert hits(archive, capsys, "biển đảo") == before
    assert set(cached(archive)) == {'("biển")', '("dảo")'}
    write(archive, bulk(30, RUN2)[20:], RUN2)
    assert sync(archive).files_added
    assert cached(archive) == {phrase: counted(archive, phrase) for phrase in cached(archive)}
    assert hits(archive, capsys, "biển đảo") != before


ALONE = [
    ['"biển đảo"'],
    ['"chủ quyền"', "--since", "2024-06-01"],
    ['"tuần tra"', "--site", "qdnd"],
    ["海"],
    [LONG],
]
"""Queries of one term that the rebuild did not count (phrases, a word as long as a facet
token, a lone CJK character)."""


def shown_urls(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """The hits' URLs as the text output lists them (no score printed)."""
    assert main(["search", *args, "-n", "50", "--archive", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    return [line.rpartition(" · ")[2] for line in lines[1::3]]


def test_a_query_of_one_term_is_ranked_without_counting_its_articles(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = [shown_urls(archive, capsys, *q) for q in ALONE]
    assert all(shown) and sum(map(len, shown)) > 40
    assert cached(archive) == {}  # nothing walked: the IDF of a lone term orders nothing
    # the same hits in the same order as bm25 with the term's count (JSON shows the score)
    scored = [hits(archive, capsys, *q, "-n", "50") for q in ALONE]
    assert [[h["url"] for h in found] for found in scored] == shown
    assert len({h["score"] for h in scored[0]}) > 3  # an order that scores decide
    assert len(cached(archive)) == len(ALONE)
    # and as a fresh rebuild's
    shutil.rmtree(search_index_path(archive).parent)
    assert [shown_urls(archive, capsys, *q) for q in ALONE] == shown
    assert [hits(archive, capsys, *q, "-n", "50") for q in ALONE] == scored
    # after a sync that adds articles and supersedes one: still the order of the counts
    write(
        archive, [row(1, 0, "2025-03-02", "Tin", "Không còn gì.", RUN2), *bulk(30, RUN2)[20:]], RUN2
    )
    shown = [shown_urls(archive, capsys, *q) for q in ALONE]
    assert cached(archive) == {phrase: counted(archive, phrase) for phrase in cached(archive)}
    assert [[h["url"] for h in hits(archive, capsys, *q, "-n", "50")] for q in ALONE] == shown


def test_a_query_of_several_terms_counts_its_phrases(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Their IDFs weigh the terms against each other: the text output counts them too."""
    shown = shown_urls(archive, capsys, '"biển đảo" tuần')
    assert shown and set(cached(archive)) == {'("biển dảo")'}
    assert [h["url"] for h in hits(archive, capsys, '"biển đảo" tuần', "-n", "50")] == shown


def test_ties_come_oldest_first_as_in_fts5s_own_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Articles alike score alike: they come by rowid, oldest first, as FTS5's own ORDER BY
    bm25() gives them, whichever way search ranks (in one statement, counts known or not
    needed; or with a term to count first)."""
    root = tmp_path / "archive"
    alike = [
        row(
            300 + i,
            i % 6,
            f"2024-{1 + i * 5 % 12:02d}-{1 + i % 27:02d}",
            "Tin biển",
            "quê hương",
            RUN1,
        )
        for i in range(30)
    ]
    write(root, alike, RUN1)
    sync(root)
    for query in ["biển", '"quê hương" biển', '"quê hương"']:
        match = search_module._words(parse_query(query))
        builtin = execute(
            root,
            "SELECT d.url_key FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ?"
            " ORDER BY bm25(fts, 5.0, 1.0, 0.0) LIMIT 20",
            match,
        )
        assert len(builtin) == 20
        scored = hits(root, capsys, query, "-n", "20")
        assert len({h["score"] for h in scored}) == 1
        assert [h["url_key"] for h in scored] == [key.hex() for (key,) in builtin]
        assert shown_urls(root, capsys, query)[:20] == [h["url"] for h in scored]
