"""`crawler demo` as a user runs it: replica up, crawl, archive, summary, replica down."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd

from crawler.mirror.replica import manifest, replica_sites


def test_demo_archives_the_replica_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "output"
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "WARNING" not in done.stderr, done.stderr[-2000:]  # a clean run says nothing more
    sites = replica_sites()  # every replica with articles
    articles = [a for site in sites for a in manifest(site)["articles"]]
    assert f"{len(articles)} articles archived under {out / 'articles'}" in done.stdout
    assert "quoc-phong-an-ninh" in done.stdout
    captions = sum(a["caption_count"] for a in articles)
    assert f"with captions: {captions}" in done.stdout
    # The closing hint uses what the install has, and names this archive as a shell reads it.
    assert "pandas" not in done.stdout
    assert f'GROUP BY site" --archive {shlex.quote(str(out))}' in done.stdout
    frame = pd.read_parquet(out / "articles")
    assert len(frame) == len(articles)
    assert sorted(set(frame["site"])) == sites
