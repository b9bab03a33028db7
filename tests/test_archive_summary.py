"""crawler.archive.summary: inspect's numbers, computed over index rows or stored as JSON."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from crawler.archive.summary import Summary, compute, stored

_COLUMNS = (
    "url_key VARCHAR, site VARCHAR, year VARCHAR, month VARCHAR, published_at TIMESTAMPTZ, "
    "fetched_at TIMESTAMPTZ, images INTEGER, captioned INTEGER, body_chars INTEGER, "
    "with_raw BOOLEAN, authors VARCHAR[]"
)


def _rows(seed: int, n: int) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        when = start + timedelta(days=rng.randint(0, 90))
        out.append(
            (
                f"{rng.randint(0, n // 2):064x}",  # some keys twice: older rows
                rng.choice(("a.vn", "b.vn", "c.com")),
                str(when.year),
                f"{when.month:02d}",
                when,
                when + timedelta(hours=3),
                rng.choice((0, 1, 2)),
                rng.choice((0, 1)),
                rng.choice((None, rng.randint(0, 50), rng.randint(0, 5000))),
                rng.random() < 0.5,
                rng.sample(["An", "Bình", "Chi", "Dũng"], rng.randint(0, 2)),
            )
        )
    return out


@pytest.fixture(params=[1, 2, 3, 7])
def con(request: pytest.FixtureRequest) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE TABLE idx ({_COLUMNS})")
    n = {1: 1, 2: 2, 3: 57, 7: 400}[request.param]
    connection.executemany(
        f"INSERT INTO idx VALUES ({', '.join('?' for _ in range(11))})", _rows(request.param, n)
    )
    return connection


def test_the_median_and_counts_are_duckdbs_own(con: duckdb.DuckDBPyConnection) -> None:
    found = compute(con, "idx")
    expected = con.execute(
        "SELECT site, year, month, count(*), median(body_chars) FROM idx "
        "GROUP BY GROUPING SETS ((site, year, month), (site), ())"
    ).fetchall()
    assert sorted(((r[0], r[1], r[2], r[3], r[9]) for r in found.groups), key=repr) == sorted(
        expected, key=repr
    )
    distinct = dict(
        con.execute(
            "SELECT site, count(DISTINCT url_key) FROM idx GROUP BY GROUPING SETS ((site), ())"
        ).fetchall()
    )
    assert found.articles == distinct


def test_stored_json_gives_back_what_was_computed(con: duckdb.DuckDBPyConnection) -> None:
    whole = compute(con, "idx")
    again = stored(whole.to_json(), None)
    assert again is not None
    assert sorted(again.groups, key=repr) == sorted(whole.groups, key=repr)
    assert sorted(again.authors, key=repr) == sorted(whole.authors, key=repr)
    assert again.articles == whole.articles
    for site in whole.articles:
        if site is None:
            continue
        one = stored(whole.to_json(), [site])
        live = compute(con, "idx", [site])
        assert one is not None
        assert sorted(one.groups, key=repr) == sorted(live.groups, key=repr)
        assert sorted(one.authors, key=repr) == sorted(live.authors, key=repr)
        assert one.articles == live.articles
    assert stored(whole.to_json(), ["nowhere.vn"]) is None  # computed live: no rows
    assert stored(whole.to_json(), ["a.vn", "b.vn"]) is None  # totals of two: not stored
    assert stored("{not json", None) is None and stored(None, None) is None


def test_a_summary_survives_json_with_odd_names() -> None:
    odd = Summary(
        [("x</script>=y", "2024", "01", 1, None, None, None, 0.5, 0.0, 12.5, 0)],
        [("x</script>=y", "2024", "01", 'Tên "lạ" \'', 1)],
        {"x</script>=y": 1, None: 1},
    )
    back = Summary.from_json(odd.to_json())
    assert back == odd
