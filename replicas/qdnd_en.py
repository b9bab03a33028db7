"""en.qdnd.vn, the English edition of qdnd.vn: the same CMS, so :mod:`replicas.qdnd`'s
pages, URL shapes, robots rules and cookie gate, in English.

Source: ``sources/en.qdnd.vn/written.json``, articles written for the replica in the
2025 image-table layout, the sections, the dead listing link and the feed link with
tracking parameters.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from replicas.qdnd import GATE_COOKIE, ROBOTS_DISALLOW, Edition, make_site, placed, replica
from replicas.skeleton import Replica, Templates, attr, esc, load, slugify

SITE = "en.qdnd.vn"
UUIDS = uuid.UUID("6f1d2c9e-4b7a-4c1e-9a55-0e2d5d3b8a10")  # namespace of the image tables' ids
html = Templates(SITE)


def render_body(entry: dict[str, Any]) -> str:
    """``div[itemprop=articleBody]`` in the 2025 layout: paragraphs, image tables
    (``img`` row, caption row in its style; ``&nbsp;`` for none), and the closing credit
    paragraph in its style."""
    parts = ['<div itemprop="articleBody">']
    for index, block in enumerate(entry["blocks"]):
        if "image" not in block:
            parts.append(f"<p>{block['p']}</p>")
            continue
        style = "empty" if block["caption"] is None else block["caption_style"]
        cell = html(f"caption-{style}", caption=esc(block["caption"] or ""))
        table = {"id": uuid.uuid5(UUIDS, f"{entry['id']}-{index}"), "cell": cell}
        parts.append(
            html("image-table", **table, alt=attr(entry["title"]), src=attr(block["image"]))
        )
    byline = entry["byline"]
    parts += [html(f"byline-{byline['style']}", byline=esc(byline["text"])), "</div>"]
    return "\n".join(parts)


def build(sources: Path) -> Replica:
    data = load(sources / "written.json")
    edition = Edition(**data["edition"])
    articles = []
    for entry in data["articles"]:
        tags = [(f"{slugify(tag)}-{7000 + i}", tag) for i, tag in enumerate(entry["tags"])]
        where = {"source": "written", "source_file": f"written.json#{entry['key']}"}
        article = placed(
            edition, entry, key=entry["key"], body=render_body(entry), tags=tags, **where
        )
        if article.facts.byline != entry["byline"]["text"]:
            raise ValueError(f"{article.key}: the body does not end with its byline")
        articles.append(article)
    site = make_site(edition, data, articles)
    return replica(
        site,
        f"`replicas/sources/{SITE}/written.json`",
        lambda a: [f"written (`{a.source_file}`)"],
        gate_cookie=GATE_COOKIE,
        robots=", ".join(f"`{p}`" for p in ROBOTS_DISALLOW),
        latest_feed=edition.latest_feed,
    )
