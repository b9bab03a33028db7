"""The last crawl-all run in Prometheus' text format, for node_exporter's textfile collector.

Written to ``<archive>/_runs/metrics.prom`` after every run, atomically (the
collector reads ``*.prom`` files; the temporary one is named otherwise), so
that an alert rule can watch what nobody reads: the time of the last run and
of the last good one, each site's status, its new articles and its layout alarm.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.archive.layout import metrics_path
from crawler.exit_codes import EXIT_OK
from crawler.runs.manifest import finished

STATUSES = ("ok", "failed", "blocked", "alarm")

_HELP = {
    "crawler_last_run_timestamp_seconds": "When the last crawl-all run ended (Unix time).",
    "crawler_last_ok_run_timestamp_seconds": "When the last crawl-all run with every site well ended.",
    "crawler_last_run_duration_seconds": "How long the last crawl-all run took.",
    "crawler_last_run_exit_status": "The last run's exit status: 0 well, 1 failed, 3 blocked, 4 layout alarm.",
    "crawler_notify_failures": "Notifications of the last run that could not be sent.",
    "crawler_site_status": "Each site's status in the last run: 1 for its status, 0 for the others.",
    "crawler_site_articles_new": "Articles each site added to the archive in the last run.",
    "crawler_site_pages_fetched": "Pages each site fetched in the last run.",
    "crawler_site_errors": "Errors of each site in the last run (requests failed for good, articles not written, ...).",
    "crawler_site_layout_alarm": "1 if the site's last run fell below its layout-alarm thresholds.",
    "crawler_site_generic_fallback": "Articles of each site whose title, body or date only the generic parser found in the last run.",
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _seconds(moment: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(moment)).timestamp()
    except ValueError:
        return None


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _value(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def metrics_text(manifest: dict[str, Any], earlier: Sequence[dict[str, Any]]) -> str:
    """The run's numbers; ``earlier`` (oldest first) gives the last good run before it."""
    samples: dict[str, list[tuple[str, float]]] = {name: [] for name in _HELP}
    end, start = _seconds(manifest.get("end")), _seconds(manifest.get("start"))
    if end is not None:
        samples["crawler_last_run_timestamp_seconds"].append(("", end))
        if start is not None:
            samples["crawler_last_run_duration_seconds"].append(("", round(end - start, 3)))
    good: Iterable[dict[str, Any]] = (
        m for m in (manifest, *reversed(earlier)) if finished(m) and m.get("exit_status") == EXIT_OK
    )
    last_ok = next((t for m in good if (t := _seconds(m.get("end"))) is not None), None)
    if last_ok is not None:
        samples["crawler_last_ok_run_timestamp_seconds"].append(("", last_ok))
    samples["crawler_last_run_exit_status"].append(("", _number(manifest.get("exit_status"))))
    samples["crawler_notify_failures"].append(
        ("", _number(manifest.get("notify", {}).get("errors")))
    )
    for name, entry in manifest["sites"].items():
        site = f'site="{_label(str(name))}"'
        for status in STATUSES:
            value = 1.0 if entry.get("status") == status else 0.0
            samples["crawler_site_status"].append((f'{{{site},status="{status}"}}', value))
        for metric, key in (
            ("crawler_site_articles_new", "articles_new"),
            ("crawler_site_pages_fetched", "pages_fetched"),
            ("crawler_site_errors", "errors"),
        ):
            samples[metric].append((f"{{{site}}}", _number(entry.get(key))))
        samples["crawler_site_layout_alarm"].append(
            (f"{{{site}}}", 1.0 if entry.get("alarm") else 0.0)
        )
        fallback = entry.get("generic_fallback")
        if isinstance(fallback, dict):  # manifests of older runs have none
            samples["crawler_site_generic_fallback"].append(
                (f"{{{site}}}", _number(fallback.get("articles")))
            )
    lines = []
    for name, values in samples.items():
        if not values:
            continue
        lines += [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} gauge"]
        lines += [f"{name}{labels} {_value(value)}" for labels, value in values]
    return "\n".join(lines) + "\n"


def write_metrics(
    archive: Path, manifest: dict[str, Any], earlier: Sequence[dict[str, Any]]
) -> Path:
    """Write atomically: the collector never reads half a file."""
    target = metrics_path(archive)
    temporary = target.with_name(f".{target.name}.tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        temporary.write_text(metrics_text(manifest, earlier), "utf-8")
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return target
