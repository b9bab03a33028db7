"""What a real qdnd.vn article body holds, read straight off its markup with plain XPath,
independently of the extraction code the tests check."""

from __future__ import annotations

from pathlib import Path

from lxml import html

from crawler.text.normalise import normalise


def expected_parts(path: Path) -> tuple[list[str], list[str], str, list[str]]:
    """(captions, paragraphs, byline, trailers) of one body fragment."""
    root = html.fromstring(path.read_text("utf-8"))
    captions = []
    for table in root.xpath(".//table[.//img]"):
        text = normalise(
            " ".join(t for row in table.xpath(".//tr[not(.//img)]") for t in row.itertext())
        )
        if text:
            captions.append(text)
    paragraphs = [normalise(p.text_content()) for p in root.xpath("./p | ./h2")]
    paragraphs = [p for p in paragraphs if p]
    trailers = [
        p for p in paragraphs if p.startswith("*") and ("xem các tin" in p or "Chuyên mục" in p)
    ]
    index = paragraphs.index(trailers[0])
    return captions, paragraphs[: index - 1], paragraphs[index - 1], trailers
