"""The ``crawler`` command's commands: one module per family, each with a
``register(sub, command)`` that adds its subcommands.

Command modules import their heavy libraries (DuckDB, pyarrow, Scrapy) only
when a command runs, so that ``crawler --help`` stays quick; and a command's run
imports only its own module (:func:`command_modules`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = {
    "extract": ("clean", "extract"),
    "crawl": ("crawl", "crawl-all", "schedule"),
    "kit": ("fixture", "new-site"),
    "browse": ("inspect", "show", "sample"),
    "search": ("search",),
    "query": ("sql", "export"),
    "validate": ("validate",),
    "compact": ("compact", "index"),
    "report": ("report",),
    "reextract": ("reextract",),
    "demo": ("demo",),
}
"""Each command module and the commands it adds, in the order ``crawler --help`` lists them."""


def command_modules(command: str | None = None) -> list[ModuleType]:
    """The modules to register for ``crawler COMMAND``: only the one that adds ``command``
    (the others' imports, of the archive's readers, checks and exports, cost a run of
    another command about 0.1 s of its start), every one for anything else (``--help``,
    a name no module adds: argparse's own message lists them all)."""
    names = [module for module, commands in MODULES.items() if command in commands] or MODULES
    return [importlib.import_module(f"crawler.commands.{name}") for name in names]


PAGE = "crawler/mirror/sites/qdnd.vn/pages/quoc-phong-an-ninh/xay-dung-quan-doi/thiet-ke-tu-tam-nang-tam-chat-luong-812203.html"
"""A saved article page that every clone has (a page of the qdnd.vn replica)."""
URL = "https://www.qdnd.vn/quoc-phong-an-ninh/xay-dung-quan-doi/thiet-ke-tu-tam-nang-tam-chat-luong-812203"
"""That page's address, also an article of the demo's archive."""

EXAMPLES = {
    "clean": "crawler clean tests/data/seed/000_e17f4e3068c7ab98.txt",
    "extract": f"crawler extract qdnd {PAGE} \\\n           --url {URL}\n"
    f"         printf '%s\\t%s\\n' {PAGE} {URL} \\\n"
    "           | crawler extract generic --batch - > records.jsonl   # PATH<TAB>URL a line",
    "crawl": "crawler crawl qdnd --since 2025-01-01 --replica   # without --replica: the live site",
    "demo": "crawler demo",
    "crawl-all": "crawler crawl-all --config crawl.toml --replica   # without --replica: the live sites",
    "schedule": "(crontab -l; crawler schedule) | crontab -   # or: crawler schedule --systemd",
    "fixture": f"crawler fixture qdnd {PAGE} \\\n           --url {URL}\n"
    "         crawler fixture --refresh qdnd",
    "new-site": "crawler new-site vnexpress_qp --domain vnexpress.net --language vi",
    "inspect": "crawler inspect --archive output   # add --json for the numbers as JSON",
    "show": f"crawler show {URL}",
    "sample": "crawler sample --site qdnd -n 5 --seed 1",
    "search": 'crawler search "Trường Sa" --site qdnd --since 2025-01-01   # or: truong sa',
    "sql": 'crawler sql "SELECT site, count(*) AS n FROM latest GROUP BY site ORDER BY n DESC" --csv',
    "export": "crawler export --format csv --excel --site qdnd.vn --since 2025-01-01 -o qdnd-2025.csv",
    "validate": "crawler validate --archive output   # exit 1 and a list when something is wrong",
    "compact": "crawler compact --archive output   # --dry-run to see what it would do",
    "index": "crawler index --archive output",
    "report": "crawler report --html report.html   # then open report.html in a browser",
    "reextract": "crawler reextract --site qdnd --spider-version 1 && crawler compact",
}
"""One example per command, shown by ``crawler CMD --help``. Each runs as printed from
a clone after ``make demo`` (tests/test_help_examples.py runs them all)."""
