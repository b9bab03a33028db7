"""The archive rows a ``crawler reextract`` re-makes, read while the command starts.

Reading them takes DuckDB (imported, about 0.1 s) and a query over the ``latest``
view (0.1 s at 3,000 articles, 0.3 s at 10,000); the command also imports Scrapy,
the spiders and the pipelines (about a second), and neither needs the other. So
:class:`RowsAhead` reads the rows in a process forked before those imports, on the
other core, and the command picks them up once its imports are done: DuckDB is then
never loaded in the command's own process, nor in the workers it forks.

This module imports nothing heavy: the forked process starts with what the
command had loaded by then (the ``crawler`` command's modules).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.views import retrying

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    import duckdb


class SelectionError(Exception):
    """The rows could not be read; the message is the one line the command prints."""


def select_rows(
    root: Path | str, sites: list[str] | None = None, versions: list[str] | None = None
) -> list[dict[str, Any]]:
    """The newest row of each article (of ``sites``, made by parser ``versions``)."""
    where, params = [], []
    if sites:
        where.append("site IN (" + ", ".join("?" for _ in sites) + ")")
        params += sites
    if versions:
        # A version names the site parser's rows, those the generic parser completed too.
        where.append(
            "("
            + " OR ".join("parser_version = ? OR starts_with(parser_version, ?)" for _ in versions)
            + ")"
        )
        for version in versions:
            params += [version, version + "+"]
    sql = (
        "SELECT url, url_key, site, spider, parser_version, fetched_at, raw_ref, crawl_run"
        " FROM latest"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY spider, url_key"
    )

    def work(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return retrying(root, work)


Selected = tuple[list[dict[str, Any]], dict[str, str] | None]
"""The rows, and their fingerprints if asked for (see :class:`RowsAhead`)."""


def _select(
    root: Path | str, sites: list[str] | None, versions: list[str] | None, fingerprints: bool
) -> tuple[str, Any]:
    """:func:`select_rows` (and the rows' fingerprints) as a message: ``("rows",
    Selected)`` or ``("error", one line)``; any other exception propagates."""
    import duckdb

    from crawler.archive.views import ArchiveError, one_line
    from crawler.crawling.fingerprints import old_fingerprints

    try:
        rows = select_rows(root, sites, versions)
        stored = [row for row in rows if row["raw_ref"]]  # the others are not re-parsed
        return "rows", (rows, old_fingerprints(root, stored) if fingerprints else None)
    except ArchiveError as error:
        return "error", str(error)
    except duckdb.Error as error:
        return "error", one_line(error)


def _child(
    connection: Connection,
    root: Path | str,
    sites: list[str] | None,
    versions: list[str] | None,
    fingerprints: bool,
) -> None:
    """The forked process: send the parent the rows, the error's line, or the exception."""
    try:
        message: tuple[str, Any] = _select(root, sites, versions, fingerprints)
    except BaseException as error:  # the parent raises it as its own
        message = ("raise", error)
    try:
        connection.send(message)
    except OSError:  # the parent is gone
        pass
    except Exception as error:  # an exception that does not pickle
        kind, value = message
        connection.send((kind, RuntimeError(f"{type(value).__name__}: {value}; {error}")))
    finally:
        connection.close()


class RowsAhead:
    """:func:`select_rows` started now in a forked process (read back by :meth:`rows`),
    or, where there is no fork, run by :meth:`rows` itself. With ``fingerprints``, the
    same process also reads the rows' fingerprints for the unchanged check
    (:func:`~crawler.crawling.fingerprints.old_fingerprints`, the archive's files read
    once): the run's workers then read nothing before their first page."""

    def __init__(
        self,
        root: Path | str,
        sites: list[str] | None = None,
        versions: list[str] | None = None,
        fingerprints: bool = False,
    ) -> None:
        import multiprocessing

        self.query = (root, sites, versions, fingerprints)
        self.process: Any = None
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self.connection, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child, args=(send, *self.query), name="reextract-rows", daemon=True
        )
        self.process.start()
        send.close()

    def rows(self) -> Selected:
        """The rows and their fingerprints (None unless asked for); :class:`SelectionError`
        with the line to print if they cannot be read."""
        if self.process is None:
            kind, value = _select(*self.query)
        else:
            try:
                kind, value = self.connection.recv()
            except EOFError:
                kind, value = "lost", None
            finally:
                self.connection.close()
                self.process.join()
            if kind == "lost":
                raise SelectionError(
                    f"the process reading the archive's rows (pid {self.process.pid}) ended "
                    f"with status {self.process.exitcode} before it sent them"
                )
        if kind == "error":
            raise SelectionError(value)
        if kind == "raise":
            raise value
        selected: Selected = value
        return selected
