"""Peak memory of extraction, cleaning and archiving at 2,000 and 20,000 articles.

Each size runs in a fresh process that pushes the replica's article pages, under
distinct URLs, through the spider's extraction, every pipeline step and the
Parquet writer, and reports its peak RSS. Target: the larger run stays within
1.3 times the smaller one (memory does not grow with the length of a crawl).
Run: ``python -m bench.memory``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 1.3
SIZES = (2_000, 20_000)


def run(count: int) -> dict[str, float]:
    """In this process: archive ``count`` articles, return peak RSS in MiB and rows."""
    from scrapy.http import HtmlResponse

    from crawler.archive import ArchiveWriter, read_table
    from crawler.mirror.replica import article_pages
    from crawler.pipelines import clean
    from crawler.pipelines.dedupe import Deduplicate
    from crawler.sites.qdnd import QdndSpider

    pages = [(url, path.read_bytes()) for url, path in article_pages("qdnd.vn")]
    spider = QdndSpider()
    dedupe = Deduplicate()
    with tempfile.TemporaryDirectory() as out:
        writer = ArchiveWriter(Path(out), "bench", flush_rows=2000)
        for n in range(count):
            url, body = pages[n % len(pages)]
            unique = f"{url.rsplit('-', 1)[0]}-{900000 + n}"
            article = spider.extract(HtmlResponse(url=unique, body=body, encoding="utf-8"))
            article.url = unique  # the page's canonical link names the original
            clean(article)
            dedupe.apply(article)
            article.crawl_run = "bench"
            writer.add(article.record())
        writer.close()
        rows = read_table(Path(out), columns=["url_key"]).num_rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"articles": count, "rows": rows, "peak_rss_mib": round(peak, 1)}


def main() -> int:
    results = []
    for count in SIZES:
        done = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--one", str(count)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout))
    ratio = results[1]["peak_rss_mib"] / results[0]["peak_rss_mib"]
    report = {"runs": results, "ratio": round(ratio, 3), "target": TARGET, "target_met": ratio <= TARGET}
    print(json.dumps(report, indent=2))
    Path(__file__).with_name("memory.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run(int(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main())
