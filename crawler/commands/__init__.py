"""The ``crawler`` command's commands: one module per family, each with a
``register(sub, command)`` that adds its subcommands.

Command modules import their heavy libraries (DuckDB, pyarrow, Scrapy) only
when a command runs, so that ``crawler --help`` stays quick.
"""

from __future__ import annotations

from crawler.commands import (
    browse,
    compact,
    crawl,
    demo,
    extract,
    kit,
    query,
    reextract,
    report,
    search,
    validate,
)

COMMANDS = (
    extract,
    crawl,
    kit,
    browse,
    search,
    query,
    validate,
    compact,
    report,
    reextract,
    demo,
)
"""In the order ``crawler --help`` lists them."""

EXAMPLES = {
    "clean": "crawler clean ../shared/seed/000_e17f4e3068c7ab98.txt",
    "extract": "crawler extract qdnd page.html --url https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/abc-812345",
    "crawl": "crawler crawl qdnd --since 2025-01-01 --out output",
    "demo": "crawler demo",
    "crawl-all": "crawler crawl-all --config crawl.toml",
    "schedule": "crawler schedule >> /tmp/cron && crontab /tmp/cron   # or: crawler schedule --systemd",
    "fixture": "crawler fixture qdnd page.html --url https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/abc-812345\n"
    "         crawler fixture --refresh qdnd",
    "new-site": "crawler new-site vnexpress_qp --domain vnexpress.net --language vi",
    "inspect": "crawler inspect --archive output   # add --json for the numbers as JSON",
    "show": "crawler show https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/abc-812345",
    "sample": "crawler sample --site qdnd.vn -n 5 --seed 1",
    "search": 'crawler search "Trường Sa" --site qdnd.vn --since 2025-01-01   # or: truong sa',
    "sql": 'crawler sql "SELECT site, count(*) AS n FROM latest GROUP BY site ORDER BY n DESC" --csv',
    "export": "crawler export --format csv --site qdnd.vn --since 2025-01-01 -o qdnd-2025.csv",
    "validate": "crawler validate --archive output || echo 'the archive has problems'",
    "compact": "crawler compact --archive output   # --dry-run to see what it would do",
    "report": "crawler report --html report.html && xdg-open report.html",
    "reextract": "crawler reextract --site qdnd.vn --spider-version 1 && crawler compact",
}
