"""Synthetic archives of any size, written by the real ArchiveWriter.

The replicas hold a few hundred articles; measuring the archive commands at
100,000 rows (and testing them at a few thousand) needs rows that look like a
real archive: six sites, three years of publish dates, Vietnamese and English
bodies of realistic length, images with and without captions, a pool of
authors and tags, and files written the way crawls write them (runs of
consecutive dates, a file per partition per flush).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.archive import ArchiveWriter
from crawler.items import sha256_hex

SITES = (
    ("qdnd.vn", "qdnd", "vi", "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-{n}"),
    ("en.qdnd.vn", "qdnd_en", "en", "https://en.qdnd.vn/military/news/article-{n}"),
    ("bienphong.com.vn", "bienphong", "vi", "https://www.bienphong.com.vn/bai-{n}.html"),
    ("baohaiquanvietnam.vn", "haiquan", "vi", "https://baohaiquanvietnam.vn/tin-tuc/bai-{n}"),
    ("tapchiqptd.vn", "tapchiqptd", "vi", "http://tapchiqptd.vn/vi/bai-{n}.html"),
    ("eng.chinamil.com.cn", "pla_daily", "en", "http://eng.chinamil.com.cn/art-{n}.html"),
)
WORDS_VI = tuple(
    [
        "quân",
        "đội",
        "nhân",
        "dân",
        "bộ",
        "quốc",
        "phòng",
        "huấn",
        "luyện",
        "sẵn",
        "sàng",
        "chiến",
        "đấu",
        "biên",
        "giới",
        "biển",
        "đảo",
        "đơn",
        "vị",
        "cán",
        "bộ",
        "chiến",
        "sĩ",
        "nhiệm",
        "vụ",
        "hội",
        "nghị",
        "tổng",
        "kết",
        "năm",
        "kế",
        "hoạch",
        "tăng",
        "cường",
        "xây",
        "dựng",
        "lực",
        "lượng",
        "vững",
        "mạnh",
        "toàn",
        "diện",
        "chính",
        "trị",
        "tư",
        "tưởng",
        "phối",
        "hợp",
        "bảo",
        "vệ",
        "chủ",
        "quyền",
        "an",
        "ninh",
    ]
)
WORDS_EN = tuple(
    [
        "army",
        "defence",
        "ministry",
        "training",
        "readiness",
        "border",
        "sea",
        "island",
        "unit",
        "officers",
        "soldiers",
        "mission",
        "conference",
        "review",
        "year",
        "plan",
        "strengthen",
        "build",
        "forces",
        "comprehensive",
        "political",
        "cooperation",
        "protect",
        "sovereignty",
        "security",
        "navy",
        "exercise",
        "delegation",
        "visit",
    ]
)
AUTHORS = [
    f"{first} {last}"
    for first in ("Sơn", "Minh", "Hùng", "Lan", "Tuấn", "Hoa", "Quang", "Thu", "Việt", "Long")
    for last in ("Bình", "Anh", "Dũng", "Hải", "Nam", "Phương", "Trung", "Hà", "Khoa", "Linh")
]
TAGS = [f"chủ đề {n}" for n in range(60)]
START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 3 * 365


def _text(rng: random.Random, words: tuple[str, ...], n_words: int) -> str:
    chosen = rng.choices(words, k=n_words)
    paragraphs = [" ".join(chosen[i : i + 60]).capitalize() + "." for i in range(0, n_words, 60)]
    return "\n\n".join(paragraphs)


def synthetic_row(
    rng: random.Random, n: int, published: datetime | None, run: str
) -> dict[str, Any]:
    """One archive record, as a crawl would write it."""
    site, spider, language, pattern = SITES[n % len(SITES)]
    words = WORDS_EN if language == "en" else WORDS_VI
    url = pattern.format(n=n)
    body = _text(rng, words, rng.randint(150, 1400))
    n_images = rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 5))
    images = [
        {
            "url": f"{url}/img{i}.jpg",
            "caption": _text(rng, words, 12) if rng.random() < 0.8 else None,
            "credit": "Ảnh: QĐND" if rng.random() < 0.5 else None,
        }
        for i in range(n_images)
    ]
    authors = rng.sample(AUTHORS, rng.choice((0, 1, 1, 1, 2)))
    return {
        "url": url,
        "url_key": sha256_hex(url),
        "site": site,
        "spider": spider,
        "article_id": str(n),
        "language": language,
        "section": rng.choice(("quoc-phong", "bien-dao", "quoc-te", None)),
        "title": _text(rng, words, 12).rstrip("."),
        "summary": _text(rng, words, 30),
        "body": body,
        "images": images,
        "byline": ", ".join(a.upper() for a in authors) or None,
        "authors": authors,
        "tags": rng.sample(TAGS, rng.randint(0, 4)),
        "published_at": published,
        "published_raw": published.strftime("%d/%m/%Y %H:%M") if published else None,
        "fetched_at": (published or START) + timedelta(hours=rng.randint(1, 48)),
        "crawl_run": run,
        "content_hash": sha256_hex(body),
        "parser_version": "1",
    }


def build_archive(
    root: Path,
    rows: int,
    runs: int = 20,
    seed: int = 1,
    flush_rows: int = 2000,
    days: int = DAYS,
) -> Path:
    """Write ``rows`` synthetic articles into ``root`` in ``runs`` crawls, in date order,
    published over ``days`` days from 2023-01-01 (fewer days, fewer partitions)."""
    rng = random.Random(seed)
    dates: list[datetime | None] = [
        *sorted(START + timedelta(days=rng.random() * days) for _ in range(rows))
    ]
    for n in range(0, rows, 37):  # a few undated articles
        dates[n] = None
    per_run = -(-rows // runs)
    for r in range(runs):
        run = f"2026010{r // 10}T{r % 10:02d}0000Z-bench{r:02d}"
        with ArchiveWriter(root, run, flush_rows=flush_rows) as writer:
            for n in range(r * per_run, min(rows, (r + 1) * per_run)):
                writer.add(synthetic_row(rng, n, dates[n], run))
    return root


COPY_STRIDE = 1_000_002
"""How far apart the article numbers of two copies are (a multiple of the six sites,
so that an article keeps its site, its URL pattern and its partition)."""


def multiply_archive(source: Path, root: Path, factor: int) -> Path:
    """Make ``root`` hold ``factor`` copies of the archive at ``source``, each copy's
    articles renumbered (new URLs and keys, the same texts, dates and runs).

    Generating ten million rows word by word takes over an hour here; copying
    a million rows nine times, changing only what names an article, takes minutes
    and gives what the commands care about: ten times the rows and the files, in
    the same partitions. Copy 0 is the source's files, hard-linked.
    """
    import hashlib
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.archive.layout import TEMP_FILE_RE, file_name
    from crawler.archive.writer import write_atomic

    patterns = {site: pattern for site, _spider, _language, pattern in SITES}
    articles = source / "articles"
    for path in sorted(articles.rglob("*.parquet")):
        target_dir = root / "articles" / path.parent.relative_to(articles)
        target_dir.mkdir(parents=True, exist_ok=True)
        os.link(path, target_dir / path.name)
        match = TEMP_FILE_RE.match(f".{path.name}.tmp")  # the parts of a finished name
        if match is None:
            raise ValueError(f"{path}: not an archive file name")
        site = path.parent.parent.parent.name.partition("=")[2]
        table = pq.read_table(path)
        numbers = [int(n) for n in table.column("article_id").to_pylist()]
        for copy in range(1, factor):
            renumbered = [n + copy * COPY_STRIDE for n in numbers]
            urls = [patterns[site].format(n=n) for n in renumbered]
            keys = [hashlib.sha256(url.encode()).hexdigest() for url in urls]
            changed = table
            for name, values in (
                ("article_id", [str(n) for n in renumbered]),
                ("url", urls),
                ("url_key", keys),
            ):
                index = changed.schema.get_field_index(name)
                changed = changed.set_column(index, name, pa.array(values, pa.string()))
            name = file_name(match["run"], int(match["pid"]) * 100 + copy, int(match["seq"]))
            write_atomic(changed, target_dir / name, target_dir / f".{name}.tmp")
    return root
