"""``crawler new-site``: the files a new site starts from.

It writes a spider module, a replica skeleton and a fixtures folder. All of it
runs at once: the spider loads and crawls, its parser extracts the generic way
until its selectors are filled (so the site archives from its first crawl), and
the test over all spiders (tests/test_sites.py) fails, saying what is still
missing, until the site is filled in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template

import crawler

PROJECT_ROOT = Path(crawler.__file__).resolve().parent.parent
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

SPIDER = Template('''"""$site: TODO one line on the site, then its quirks (what this module handles and why)."""

from __future__ import annotations

from crawler.generic.starter import StarterParser
from crawler.sites.base import NewsSpider

HOME = "https://$host"


class ${cls}Parser(StarterParser):
    """Generic extraction (parser_version generic-<n>) until the selectors are filled: each
    one filled takes over its field. All filled: subclass ArticleParser, version = "1"."""

    title_css = ""  # TODO the headline
    summary_css = ""  # TODO the lead / sapo
    date_css = ""  # TODO e.g. 'meta[property="article:published_time"]@content'
    body_css = ()  # TODO the element that holds the paragraphs and images, e.g. ("article",)
    tags_css = ""  # TODO tag links
    byline_css = ""  # TODO an element with the author credit, if the site has one
    exclude_css = ()  # TODO share bars, related news inside the body


class ${cls}Spider(NewsSpider):
    name = "$name"
    site = "$site"
    language = "$language"
    canonical_host = "$host"
    allowed_domains = ["$site"]
    parser = ${cls}Parser

    listing_urls = (f"{HOME}/",)  # TODO section listing pages
    feed_urls = ()  # TODO RSS feeds
    article_url_pattern = r"^https://(?:www\\.)?$site_re/.+-(?P<id>\\d+)(?:\\.html?)?$$"  # TODO
    listing_link_css = "a"  # TODO the links of a listing's items
    next_page_format = ""  # TODO e.g. "{listing}?page={page}"
''')

README = Template("""# Fixtures of the $name spider

Each case is a saved article page (`<case>.html`) and the record the parser is
expected to make of it (`<case>.json`); a page of the replica is not copied, the
JSON names it (`replica_page`). Add one with

    crawler fixture $name PAGE.html --url https://$host/…

then read the drafted JSON against the page and fix the parser, not the JSON,
where it is wrong. `crawler fixture --refresh $name` shows what a parser change
does to every stored case. The test over all spiders wants at least 5.
""")

PROVENANCE = Template("""# $site replica: provenance

Pages that follow the structure of $host as recorded in shared/SITES.md.
For every page: where it comes from (a real page, a real fragment, or written
for the replica) and what is invented (URLs, ids, dates, page chrome).

| page | source | invented |
| --- | --- | --- |
""")


def scaffold(name: str, domain: str, language: str, root: Path = PROJECT_ROOT) -> list[Path]:
    """Write the new site's files under ``root``; returns them. Refuses to overwrite."""
    if not _NAME.match(name):
        raise ValueError(f"spider name must be lower-case letters, digits and _: {name!r}")
    domain = domain.lower().removeprefix("https://").removeprefix("http://").strip("/")
    if not _DOMAIN.match(domain):
        raise ValueError(f"not a domain name: {domain!r}")
    if not re.match(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", language):
        raise ValueError(f"language must be a BCP 47 tag such as vi, en, zh: {language!r}")
    site = domain.removeprefix("www.")
    host = domain
    replica = root / "crawler" / "mirror" / "sites" / site
    files = {
        root / "crawler" / "sites" / f"{name}.py": SPIDER.substitute(
            name=name,
            site=site,
            host=host,
            language=language,
            cls="".join(part.capitalize() for part in name.split("_")),
            site_re=re.escape(site),
        ),
        root / "tests" / "fixtures" / name / "README.md": README.substitute(name=name, host=host),
        replica / "site.json": json.dumps({"hosts": sorted({host, site, f"www.{site}"})}, indent=2)
        + "\n",
        replica / "manifest.json": json.dumps(
            {"site": site, "hosts": [host], "articles": [], "dead_urls": []}, indent=2
        )
        + "\n",
        replica / "PROVENANCE.md": PROVENANCE.substitute(site=site, host=host),
        replica / "pages" / "robots.txt": "User-agent: *\nDisallow:\n",
        replica / "pages" / "index.html": f'<!doctype html>\n<html lang="{language}"><head>'
        f'<meta charset="utf-8"><title>{site}</title></head>\n'
        "<body><!-- TODO: the home page, listings and article pages of the replica --></body></html>\n",
    }
    existing = [path for path in files if path.exists()]
    if existing:
        raise FileExistsError(f"would overwrite {existing[0]}")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
