"""The rules of the replicas' templates (replicas/sources/<site>/templates/), on files
written here: what a template is, what a whole page adds, what a missing field says,
and how a listing's page links come out of the site's pager templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from replicas.skeleton import Templates, pagination


def site(tmp_path: Path, files: dict[str, str]) -> Templates:
    folder = tmp_path / "example.test" / "templates"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Templates("example.test", root=tmp_path)


def test_a_template_is_its_file_without_the_final_newline(tmp_path: Path) -> None:
    html = site(
        tmp_path,
        {
            "item.html": "<li>$title costs $$5</li>\n",
            "page.html": "<html>\n$head\n<main>$main</main>\n</html>\n",
            "article-head.html": "<title>$title</title>\n",
            "article.html": "<h1>$title</h1>\n",
            "feed.xml": "<rss>$items</rss>\n",
        },
    )
    assert html("item", title="A </script> & B") == "<li>A </script> & B costs $5</li>"
    assert html.whole("feed.xml", items="") == "<rss></rss>\n"
    page = html.page("article", title="T")
    assert page == "<html>\n<title>T</title>\n<main><h1>T</h1></main>\n</html>\n"
    assert html.has("item") and not html.has("nosuch")


def test_a_missing_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    html = site(tmp_path, {"item.html": "<li>$title [$kind]</li>\n"})
    with pytest.raises(ValueError, match=r"item\.html: no value for \$kind"):
        html("item", title="x")


def test_pagination_uses_the_pager_templates_the_site_has(tmp_path: Path) -> None:
    html = site(
        tmp_path,
        {
            "pager-current.html": "[$n]\n",
            "pager-page.html": "<$href>\n",
            "pager-next.html": "next:$href\n",
            "pager-first.html": "(no previous)\n",
        },
    )
    href = "/list?page={}".format
    assert pagination(html, 1, 3, href).splitlines() == [
        "(no previous)",
        "[1]",
        "</list?page=2>",
        "</list?page=3>",
        "next:/list?page=2",
    ]
    # No pager-prev or pager-last: nothing takes their place.
    assert pagination(html, 3, 3, href).splitlines() == [
        "</list?page=1>",
        "</list?page=2>",
        "[3]",
    ]


def test_a_pagination_template_is_left_out_for_one_page_and_past_the_last(tmp_path: Path) -> None:
    html = site(
        tmp_path,
        {
            "pagination.html": "<ul>\n$pages\n</ul>\n",
            "pager-current.html": "[$n]\n",
            "pager-page.html": "$n\n",
        },
    )
    href = str
    assert pagination(html, 2, 2, href) == "<ul>\n1\n[2]\n</ul>"
    assert pagination(html, 1, 1, href) == ""
    assert pagination(html, 3, 2, href) == ""  # a page the server answers after the last
