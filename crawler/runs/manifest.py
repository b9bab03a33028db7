"""Run manifests: one JSON file per crawl-all run under ``<archive>/_runs/``.

A run writes its manifest when it starts (``status: running``) and again when
it ends (``finished``). A run killed in between (SIGKILL, power cut) leaves
``running`` behind; the next run, holding the lock, knows that no run is going
on and closes it: ``interrupted``, with the articles the killed run had
archived, counted from the archive.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from crawler.archive import read_table
from crawler.archive.layout import RUNS_DIR, run_prefix
from crawler.archive.views import ArchiveError, one_line

RUNNING = "running"
FINISHED = "finished"
INTERRUPTED = "interrupted"


def earlier_manifests(runs_dir: Path) -> list[dict[str, Any]]:
    """Manifests of earlier runs, oldest first (unreadable ones are skipped)."""
    manifests = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            manifests.append(manifest)
    return manifests


def finished(manifest: dict[str, Any]) -> bool:
    """Whether the run got to its end (manifests older than the status key always did)."""
    return bool(manifest.get("status", FINISHED) == FINISHED)


def write_manifest(runs_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write atomically: a reader never sees half a manifest."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    target = runs_dir / f"{manifest['run_id']}.json"
    temporary = runs_dir / f".{target.name}.tmp"
    try:
        temporary.write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8"
        )
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return target


def articles_by_spider(archive: Path, run_id: str) -> Counter[str]:
    """How many articles each spider archived in run ``run_id``, read from its own files."""
    table = read_table(
        archive,
        columns=["spider"],
        filter=pc.field("crawl_run") == run_id,
        name_prefix=run_prefix(run_id),
    )
    return Counter(str(spider) for spider in table.column("spider").to_pylist())


def close_interrupted(archive: Path, closed_by: str) -> list[dict[str, Any]]:
    """Mark every manifest still ``running`` as ``interrupted``; call it holding the lock.

    Each site of the killed run gets the articles it archived before it died.
    Returns the manifests closed.
    """
    closed = []
    for path in sorted((archive / RUNS_DIR).glob("*.json")):
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict) or manifest.get("status") != RUNNING:
            continue
        run_id = manifest.get("run_id")
        if not isinstance(run_id, str) or path.name != f"{run_id}.json":
            continue  # a copy under another name: not a run of this archive
        try:
            counts = articles_by_spider(archive, run_id)
        except ArchiveError as error:
            counts, manifest["read_error"] = Counter(), one_line(error)
        planned = manifest.get("planned")
        spiders = [s for s in planned if isinstance(s, str)] if isinstance(planned, list) else []
        spiders += sorted(set(counts) - set(spiders))
        manifest["sites"] = {
            spider: {"spider": spider, "status": INTERRUPTED, "articles_new": counts[spider]}
            for spider in spiders
        }
        manifest["status"] = INTERRUPTED
        manifest["closed_by"] = closed_by
        manifest["closed_at"] = datetime.now(UTC).isoformat()
        write_manifest(archive / RUNS_DIR, manifest)
        closed.append(manifest)
    return closed
