"""``crawler new-site``: the files a new site starts from.

It writes the spider module, the replica's build script on the shared skeleton
(``replicas/<name>.py``) with its sources (``replicas/sources/<site>/``), the
replica that script builds, the site's test module and its fixtures folder. All
of it runs at once: the spider loads and crawls, its parser extracts the generic
way until its selectors are filled (so the site archives from its first crawl),
the site's test module passes, and the test over all spiders
(tests/test_sites.py) fails, saying what is still missing (fixtures, replica
articles), until the site is filled in.
"""

from __future__ import annotations

import json
import keyword
import re
import subprocess
import sys
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
    # TODO the site's article URLs; group "id": the site's own id of the article
    article_url_pattern = r"^https://(?:www\\.)?$site_re/.+-(?P<id>\\d+)(?:\\.html?)?$$"
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

BUILD = Template('''"""$site: TODO one line on where the replica's pages come from (written for it, or
real pages and fragments) and what of the site's markup they follow (``replica.md``).

Written by ``crawler new-site``: ``sources/$site/articles.json`` holds the articles,
each ``{"id", "title", "published" (the site's wall-clock time, ISO 8601), "blocks"
(``{"p": text}`` or ``{"img": path, "caption": text or null}``), "byline" (the credit
line as the page prints it, or null), "source" (where it comes from)}``; the build makes
a home page that links them all and a page for each, in placeholder markup
(``sources/$site/templates/``). TODO: the site's own markup in the templates, its
listings (``Build.listing``), feeds (``Build.feed``) and a dead link (see haiquan.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "$site"
ORIGIN = "https://$host"
HOSTS = $hosts
HOURS = 7  # TODO the site's UTC offset, as its spider's timezone
html = sk.Templates(SITE)


class Article(sk.Article):
    @property
    def path(self) -> str:
        return f"/{sk.slugify(self.title)}-{self.id}"  # TODO the site's article URLs

    @property
    def images(self) -> list[dict[str, Any]]:
        return [block for block in self.blocks if "img" in block]


Site = sk.Site[Article]


def load_site(sources: Path) -> Site:
    entries = sk.load(sources / "articles.json")["articles"]
    return Site({}, [Article.of(entry, ORIGIN, HOURS) for entry in entries], None)


def body_html(article: Article) -> str:
    parts = []
    for block in article.blocks:
        if "img" not in block:
            parts.append(html("paragraph", text=esc(block["p"])))
            continue
        caption = html("caption", text=esc(block["caption"])) if block.get("caption") else ""
        parts.append(html("image", src=attr(block["img"]), caption=caption))
    if article.data.get("byline"):
        parts.append(html("byline", byline=esc(article.data["byline"])))
    return "\\n".join(parts)


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    b = sk.Build("$name", SITE, ORIGIN, HOSTS, [], timezone=f"+{HOURS:02d}:00")
    b.page("/", html.page("home", items=html.each("home-item", site.articles)))
    for a in site.articles:
        fields = {**a.fields(), "published": a.published.isoformat(), "body": body_html(a)}
        b.page(a.path, html.page("article", **fields))
    return b.replica(
        site,
        manifest_entry,
        f"`replicas/sources/{SITE}/`",
        lambda a: [esc(a.data.get("source") or "TODO where the page comes from")],
        home=ORIGIN + "/",
    )


def manifest_entry(a: Article) -> dict[str, Any]:
    images = ((urljoin(a.url, b["img"]), b.get("caption")) for b in a.images)
    byline = a.data.get("byline")
    return {
        "title": fold(a.title),
        "published": a.published.isoformat(),
        **sk.images(images),
        "byline": fold(byline) if byline else None,
    }
''')

# The replica's placeholder markup (``string.Template`` files of the replica skeleton).
TEMPLATES = {
    "page.html": '<!doctype html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
    '$head\n</head>\n<body>\n<header><a href="/">{site}</a></header>\n<main>\n$main\n</main>\n'
    "</body>\n</html>\n",
    "home-head.html": "<title>{site}</title>\n",
    "home.html": '<ul class="articles">\n$items\n</ul>\n',
    "home-item.html": '<li><a href="$path">$title</a> <span class="date">$day</span></li>\n',
    "article-head.html": "<title>$title</title>\n"
    '<meta property="article:published_time" content="$published">\n',
    "article.html": '<article>\n<h1>$title</h1>\n<time datetime="$published">$day</time>\n'
    "$body\n</article>\n",
    "paragraph.html": "<p>$text</p>\n",
    "image.html": '<figure><img src="$src" alt="">$caption</figure>\n',
    "caption.html": "<figcaption>$text</figcaption>\n",
    "byline.html": '<p class="author">$byline</p>\n',
}

ACCOUNT = """## What is real and what is invented

TODO, for every page: where it comes from (a page of the site saved on a given
day, a real fragment, or written for the replica) and what is invented (URLs,
ids, dates, page chrome). The markup in `templates/` is a placeholder written by
`crawler new-site`, not the site's own: TODO replace it with the site's.

## Pages

| path | source |
| --- | --- |
"""

TEST = Template('''"""$site: the $name spider and its replica, as `crawler new-site` wrote them.

What holds before the site is filled in, and is checked here: the spider loads under
its name as the site, its article URLs are told from the others, its replica answers on
127.0.0.1 for each of its hosts, and an article page gives a clean record by generic
extraction (the parser's selectors are empty: its rows say parser_version generic-<n>).

TODO as the site is filled in (docs/adding-a-site.md; tests/test_sites.py says what is
still missing): real article and other URLs of the site in ``test_article_urls``; a test
of each quirk the spider module handles, on its fixtures (as tests/test_site_*.py do);
when the parser has selectors and a version of its own, a fixture of the site instead
of ``PAGE``, and ``test_generic_extraction_archives_an_article_page`` goes.
"""

from __future__ import annotations

import http.client
import json

import pytest
from scrapy.http import HtmlResponse
from scrapy.spiderloader import SpiderLoader

from crawler.crawling.runner import project_settings
from crawler.generic.parser import GenericParser
from crawler.mirror.server import SITES_ROOT, MirrorServer
from crawler.pipelines import clean
from crawler.sites.$name import ${cls}Spider

SITE = "$site"
HOST = "$host"
REPLICA = SITES_ROOT / SITE
MANIFEST = json.loads((REPLICA / "manifest.json").read_text("utf-8"))
# A made-up article page (TODO: a fixture of the site's own once it has them).
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Frigates train off the coast | News</title>
<meta property="article:published_time" content="2025-03-04T08:30:00+07:00"></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article><h1>Frigates train off the coast</h1>
<p>Two frigates held a three-day drill off the coast this week, practising search and
rescue with helicopters of the naval air wing.</p>
<figure><img src="/images/frigates.jpg" alt=""><figcaption>The frigates at sea.</figcaption></figure>
<p>The crews rehearsed boarding, towing a disabled ship and treating the injured at sea,
the press office of the fleet said on Tuesday.</p>
<p>The drill is held every spring, before the typhoon season, and this year for the
first time with ships of the coast guard.</p>
</article></main><footer>Copyright</footer></body></html>"""


def test_the_spider_loads_as_the_site() -> None:
    spidercls = SpiderLoader.from_settings(project_settings()).load("$name")
    assert spidercls is ${cls}Spider
    spider = spidercls()
    assert (spider.site, spider.language, spider.canonical_host) == (SITE, "$language", HOST)
    assert spider.allowed_domains == [SITE]
    assert spidercls.description().spider == "$name"


@pytest.mark.parametrize(
    ("url", "article_id"),
    [
        (f"https://{HOST}/frigates-train-off-the-coast-1234", "1234"),  # TODO the site's URLs
        (f"https://{HOST}/", None),
        ("https://www.example.com/frigates-train-off-the-coast-1234", None),
        *((article["url"], article["article_id"]) for article in MANIFEST["articles"]),
    ],
)
def test_article_urls(url: str, article_id: str | None) -> None:
    spider = ${cls}Spider()
    assert spider.is_article_url(url) is (article_id is not None)
    assert spider.article_id(url) == article_id


def test_the_replica_answers_for_each_host() -> None:
    hosts = json.loads((REPLICA / "site.json").read_text("utf-8"))["hosts"]
    assert HOST in hosts
    with MirrorServer() as server:
        for host in hosts:
            for path, file in (("/", "index.html"), ("/robots.txt", "robots.txt")):
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                connection.request("GET", path, headers={"Host": host})
                answer = connection.getresponse()
                assert answer.status == 200, f"{host}{path}"
                assert answer.read() == (REPLICA / "pages" / file).read_bytes()
                connection.close()


def test_generic_extraction_archives_an_article_page() -> None:
    url = f"https://{HOST}/frigates-train-off-the-coast-1234"
    response = HtmlResponse(url, body=PAGE.encode("utf-8"), encoding="utf-8")
    article = clean(${cls}Spider().extract(response), check=True)  # as the pipelines keep it
    assert article.parser_version == GenericParser.version
    assert (article.spider, article.site, article.language) == ("$name", SITE, "$language")
    assert article.title == "Frigates train off the coast"
    assert article.article_id == "1234"
    assert article.published_at is not None
    assert article.published_at.isoformat() == "2025-03-04T01:30:00+00:00"
    assert len(article.paragraphs) == 3 and article.paragraphs[0].startswith("Two frigates")
    assert [(image.url, image.caption) for image in article.images] == [
        (f"https://{HOST}/images/frigates.jpg", "The frigates at sea.")
    ]
''')


def scaffold(name: str, domain: str, language: str, root: Path = PROJECT_ROOT) -> list[Path]:
    """Write the new site's files under ``root``; returns them. Refuses to overwrite."""
    if not _NAME.match(name):
        raise ValueError(f"spider name must be lower-case letters, digits and _: {name!r}")
    domain = domain.lower().removeprefix("https://").removeprefix("http://").strip("/")
    if not _DOMAIN.match(domain):
        raise ValueError(f"not a domain name: {domain!r}")
    if not re.match(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", language):
        raise ValueError(f"language must be a BCP 47 tag such as vi, en, zh: {language!r}")
    if keyword.iskeyword(name):
        raise ValueError(f"spider name must not be a Python keyword: {name!r}")
    site = domain.removeprefix("www.")
    host = domain
    cls = "".join(part.capitalize() for part in name.split("_"))
    replica = root / "crawler" / "mirror" / "sites" / site
    sources = root / "replicas" / "sources" / site
    if not (root / "replicas" / "skeleton.py").is_file():
        raise FileNotFoundError(f"no replica builds in {root}: no replicas/skeleton.py")
    hosts = [host, *sorted({site, f"www.{site}"} - {host})]
    fields = {"name": name, "site": site, "host": host, "language": language, "cls": cls}
    files = {
        root / "crawler" / "sites" / f"{name}.py": SPIDER.substitute(
            fields, site_re=re.escape(site)
        ),
        root / "replicas" / f"{name}.py": BUILD.substitute(fields, hosts=python_list(hosts)),
        sources / "articles.json": '{\n  "articles": []\n}\n',
        sources / "replica.md": ACCOUNT,
        **{
            sources / "templates" / file: text.format(language=language, site=site)
            if file in {"page.html", "home-head.html"}
            else text
            for file, text in TEMPLATES.items()
        },
        root / "tests" / f"test_site_{name}.py": TEST.substitute(fields),
        root / "tests" / "fixtures" / name / "README.md": README.substitute(fields),
    }
    existing = [path for path in [*files, replica] if path.exists()]
    if existing:
        raise FileExistsError(f"would overwrite {existing[0]}")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [*files, *build_replica(name, root, replica)]


def python_list(items: list[str]) -> str:
    """A list of strings as ruff formats it, one a line (its trailing comma keeps them so)."""
    return "[\n" + "".join(f"    {json.dumps(item)},\n" for item in items) + "]"


def build_replica(name: str, root: Path, folder: Path) -> list[Path]:
    """The replica in ``folder``, as its new build script makes it (``python -m replicas
    NAME``), so that ``python -m replicas --check`` finds it current; returns its files."""
    command = [sys.executable, "-m", "replicas", name]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"python -m replicas {name} failed in {root}: {last}")
    return sorted(path for path in folder.rglob("*") if path.is_file())
