"""crawler search's ranking: FTS5's bm25 computed again from counts kept in the index, with
the same scores as the built-in, and counts that follow every change of the index."""

from __future__ import annotations

import math
import random
import shutil
import sqlite3
import unicodedata
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
    "海军演习",
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
    ["海军演习"],
    ["biển đảo tuần tra chủ quyền hải quân"],  # many words, each scored per row
    ['"tuần tra" biển', "--since", "2024-06-01"],
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


def counted(root: Path, phrase: str) -> int:
    return int(execute(root, "SELECT count(*) FROM fts WHERE fts MATCH ?", phrase)[0][0])


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


def idf(rows: int, docs: int) -> float:
    """bm25's IDF of one word, floored as FTS5 floors it."""
    value = math.log((rows - docs + 0.5) / (docs + 0.5))
    return value if value > 0.0 else 1e-6


def folded(token: str) -> str:
    """A token as unicode61 (remove_diacritics 2) holds it: lower case, no marks."""
    decomposed = unicodedata.normalize("NFD", token.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def expected_scores(root: Path, query: str) -> dict[bytes | str, float]:
    """Every match of the query and its score by the rule, computed here from FTS5's own
    numbers: for each term, its part of bm25 for the row (the built-in bm25 of the term
    alone, divided by the IDF the built-in gives it from the articles holding it), times
    the sum of its words' IDFs (a lone CJK character: the IDF of the most common word it
    starts)."""
    vocabulary = words_counted(root)
    rows = int(execute(root, "SELECT count(*) FROM docs")[0][0])
    total: dict[bytes | str, float] = dict.fromkeys(builtin_bm25(root, [query]), 0.0)
    for term in parse_query(query):
        sql = "SELECT d.url_key, bm25(fts, ?, 1.0, 0.0) FROM fts JOIN docs d ON d.id = fts.rowid"
        alone = dict(
            execute(
                root,
                sql + " WHERE fts MATCH ?",
                search_module.TITLE_WEIGHT,
                search_module._words([term]),
            )
        )
        words = [folded(token) for token in term.tokens()]
        if term.fts().endswith("*"):
            weight = idf(rows, max(n for w, n in vocabulary.items() if w.startswith(words[0])))
        else:
            weight = sum(idf(rows, vocabulary[w]) for w in words)
        for key in total:
            total[key] += weight * alone[key] / idf(rows, len(alone))
    return total


PHRASES = [q for q in QUERIES if '"' in q[0] or q[0] in ("海", "海军演习")]
"""Queries holding a phrase (a CJK word of three characters is a phrase of two bigrams)
or a prefix (a lone CJK character)."""


@pytest.mark.parametrize("query", PHRASES)
def test_a_phrase_weighs_as_the_sum_of_its_words_idfs(archive: Path, query: list[str]) -> None:
    expected = expected_scores(archive, query[0])
    ours = ranked(archive, query)
    assert set(ours) == set(expected) and len(ours) > 3
    assert ours == pytest.approx(expected, rel=1e-12)
    if query[0] != "海":  # held by most articles: both IDFs are FTS5's floor
        assert ours != builtin_bm25(archive, query)  # not from the articles holding it


def test_the_json_scores_and_the_order_follow_the_rule_with_filters(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--site and --since change which articles are ranked, not their scores."""
    for query in QUERIES:
        expected = expected_scores(archive, query[0])
        found = hits(archive, capsys, *query, "-n", "50")
        assert found
        for hit in found:
            assert hit["score"] == pytest.approx(expected[bytes.fromhex(hit["url_key"])], abs=1e-4)
        keys = [bytes.fromhex(hit["url_key"]) for hit in found]
        assert keys == sorted(keys, key=lambda k: round(expected[k], 9))  # stable: ties as given


def test_words_are_counted_by_a_rebuild_and_no_phrase_ever(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = words_kept(archive)
    assert len(kept) > 10
    assert kept == words_counted(archive)
    assert kept["bien"] == counted(archive, "biển")  # as the tokenizer folds it
    for query in QUERIES:
        hits(archive, capsys, *query)
    assert words_kept(archive) == kept
    tables = {name for (name,) in execute(archive, "SELECT name FROM sqlite_master")}
    assert "word_docs" in tables and not any("phrase" in name for name in tables)


def test_the_kept_counts_are_what_the_ranking_reads(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [hits(archive, capsys, *q) for q in QUERIES]
    execute(archive, "UPDATE word_docs SET docs = 1 WHERE term IN ('bien', 'dao')")
    changed = [hits(archive, capsys, *q) for q in QUERIES]
    assert changed[0] != before[0] and changed[1] != before[1]  # a phrase as its words
    assert changed[2] == before[2]


def test_a_sync_that_adds_or_removes_articles_brings_the_counts_up_to_date(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """And an index kept up to date answers as a fresh rebuild does, scores included."""
    before = [hits(archive, capsys, *q) for q in QUERIES]
    words = words_kept(archive)
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
    connection = search_module._connect_ranking(search_index_path(archive))
    try:
        state = search_module._state(connection)
    finally:
        connection.close()
    assert execute(archive, "SELECT value FROM meta WHERE key = 'word_docs'") == [(state,)]
    assert words_kept(archive) != words
    assert words_kept(archive) == words_counted(archive)
    after = [hits(archive, capsys, *q) for q in QUERIES]
    assert after != before
    assert main(["search", "--rebuild", "--archive", str(archive)]) == 0
    assert [hits(archive, capsys, *q) for q in QUERIES] == after
    shutil.rmtree(search_index_path(archive).parent)
    assert [hits(archive, capsys, *q) for q in QUERIES] == after


def test_an_index_built_before_the_counts_were_kept_gets_them(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted by its next search (no rebuild); one that cannot be written is ranked from
    FTS5's own counts, with the same answers."""
    before = [hits(archive, capsys, *q) for q in QUERIES]
    kept = words_kept(archive)

    def forget() -> None:
        execute(archive, "DROP TABLE word_docs")
        execute(archive, "DELETE FROM meta WHERE key = 'word_docs'")

    forget()
    with monkeypatch.context() as patched:
        patched.setattr(search_module, "_count_words_once", lambda *_: None)
        assert [hits(archive, capsys, *q) for q in QUERIES] == before
    tables = {name for (name,) in execute(archive, "SELECT name FROM sqlite_master")}
    assert "word_docs" not in tables
    assert [hits(archive, capsys, *q) for q in QUERIES] == before
    assert words_kept(archive) == kept
    forget()
    write(archive, bulk(30, RUN2)[20:], RUN2)  # a sync that adds files counts them all
    assert sync(archive).files_added
    assert words_kept(archive) == words_counted(archive) != kept


ALONE = [
    ['"biển đảo"'],
    ['"chủ quyền"', "--since", "2024-06-01"],
    ['"tuần tra"', "--site", "qdnd"],
    ["海"],
    [LONG],
]
"""Queries of one term (phrases, a word as long as a facet token, a lone CJK character)."""


def shown_urls(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """The hits' URLs as the text output lists them (no score printed)."""
    assert main(["search", *args, "-n", "50", "--archive", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    return [line.rpartition(" · ")[2] for line in lines[1::3]]


def test_the_text_output_is_in_the_order_of_the_scores(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = [shown_urls(archive, capsys, *q) for q in ALONE]
    assert all(shown) and sum(map(len, shown)) > 40
    scored = [hits(archive, capsys, *q, "-n", "50") for q in ALONE]
    assert [[h["url"] for h in found] for found in scored] == shown
    assert len({h["score"] for h in scored[-1]}) > 3  # an order that scores decide


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
