"""Run manifests: one JSON file per crawl-all run under ``<archive>/_runs/``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def earlier_manifests(runs_dir: Path) -> list[dict[str, Any]]:
    """Manifests of earlier runs, oldest first (unreadable ones are skipped)."""
    manifests = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            manifests.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    return manifests


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
