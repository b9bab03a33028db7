"""Extraction and cleaning cost per page, against trafilatura.extract on the same pages.

Target (issue 2): ours costs at most a quarter of trafilatura's. Both run
side by side in one process on the replica's article pages, so the machine's
noise hits both alike. Run: ``make bench`` or ``python -m bench.extract_speed``.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse

from crawler.mirror.replica import article_pages
from crawler.pipelines import clean
from crawler.sites.qdnd import QdndSpider

TARGET_RATIO = 0.25
ROUNDS = 7


def ours(spider: QdndSpider, url: str, body: bytes) -> Any:
    response = HtmlResponse(url=url, body=body, encoding="utf-8")
    return clean(spider.extract(response), check=True)


def theirs(body: bytes) -> str:
    import trafilatura

    return trafilatura.extract(body.decode("utf-8")) or ""


def per_page_seconds(func: Any, pages: list[tuple[str, bytes]], *, ours_side: bool) -> float:
    """Median over rounds of the mean time per page."""
    spider = QdndSpider()
    rounds = []
    for _ in range(ROUNDS):
        gc.collect()
        start = time.perf_counter()
        for url, body in pages:
            func(spider, url, body) if ours_side else func(body)
        rounds.append((time.perf_counter() - start) / len(pages))
    return statistics.median(rounds)


def captions_left(pages: list[tuple[str, bytes]]) -> tuple[int, int, int]:
    """(captions, left in our body, left in trafilatura's text)."""
    spider = QdndSpider()
    total = in_ours = in_theirs = 0
    for url, body in pages:
        article = ours(spider, url, body)
        text = theirs(body)
        for image in article.images:
            if image.caption and len(image.caption) > 15:
                total += 1
                in_ours += image.caption in article.body
                in_theirs += image.caption in text
    return total, in_ours, in_theirs


def main() -> int:
    pages = [(url, path.read_bytes()) for url, path in article_pages("qdnd.vn")]
    size = statistics.mean(len(body) for _, body in pages) / 1024
    ours(QdndSpider(), *pages[0])  # warm caches
    theirs(pages[0][1])
    mine = per_page_seconds(ours, pages, ours_side=True)
    other = per_page_seconds(theirs, pages, ours_side=False)
    total, in_ours, in_theirs = captions_left(pages)
    ratio = mine / other
    result = {
        "pages": len(pages),
        "mean_page_kib": round(size, 1),
        "ours_ms_per_page": round(mine * 1000, 3),
        "trafilatura_ms_per_page": round(other * 1000, 3),
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "captions": total,
        "captions_left_in_body_ours": in_ours,
        "captions_left_in_text_trafilatura": in_theirs,
    }
    print(json.dumps(result, indent=2))
    Path(__file__).with_name("extract_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
