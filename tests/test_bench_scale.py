"""bench.scale: its RESULTS.md section is replaced in place, figures merge by command, and
a timed process reports its own exit status and peak memory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bench import scale


def size(rows: int, **seconds: float) -> dict[str, Any]:
    results = [
        {
            "name": name,
            "seconds": s,
            "peak_mib": 100.0,
            "status": 0,
            "target_s": 1.0,
            "target_mib": None,
            "note": "",
            "rows_per_s": None,
            "met": s <= 1.0,
        }
        for name, s in seconds.items()
    ]
    return {"rows": rows, "files": 3, "archive_mib": 1.0, "build_seconds": 1.0, "results": results}


def test_the_section_replaces_the_previous_one_and_keeps_the_rest(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nother sections\n")
    data = {"measured_at": "now", "machine": "2 CPUs", "sizes": [size(10, inspect=0.5)]}
    scale.write_section(results, scale.render_section(data))
    data["sizes"] = [size(10, inspect=3.0), size(100, inspect=6.0)]
    scale.write_section(results, scale.render_section(data))
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\nother sections\n")
    assert text.count(scale.MARK_START) == 1 and text.count(scale.MARK_END) == 1
    assert "| inspect | 3.00 s | 100 MiB |  | ≤ 1.0 s | **not met** |" in text
    assert "| inspect | 2.00x | 1.00x |" in text  # growth from 10 to 100 rows


def test_merge_replaces_the_commands_measured_again_only() -> None:
    old = [size(10, inspect=1.0, search=2.0)]
    merged = scale.merge(old, [size(10, search=0.5), size(20, search=0.7)])
    assert [r["seconds"] for r in merged[0]["results"]] == [1.0, 0.5]
    assert merged[1]["rows"] == 20


def test_run_timed_gives_status_and_the_childs_own_peak(tmp_path: Path) -> None:
    grow = "x = bytearray(200 * 2**20); import sys; print('done', file=sys.stderr)"
    _, big, status, last, _ = scale.run_timed([sys.executable, "-c", grow], tmp_path)
    assert status == 0 and last == "done" and big >= 200
    _, small, status, _, _ = scale.run_timed(
        [sys.executable, "-c", "raise SystemExit(3)"], tmp_path
    )
    assert status == 3 and small < big


def test_run_timed_counts_the_memory_of_child_processes(tmp_path: Path) -> None:
    """A command that hands its work to child processes is measured with them."""
    child = "x = bytearray(150 * 2**20)"
    wait = "import time; time.sleep(0.6)"
    parent = (
        "import subprocess, sys; "
        f"subprocess.run([sys.executable, '-c', {child + '; ' + wait!r}], check=True)"
    )
    _, own, status, _, tree = scale.run_timed([sys.executable, "-c", parent], tmp_path)
    assert status == 0 and tree >= 150 and own >= 150  # GNU time: the largest process
    from bench.memory import tree_memory

    mine = tree_memory(os.getpid())
    assert mine["rss"] >= mine["pss"] > 0


def test_rendering_results_again_keeps_the_sections_other_writers_own(tmp_path: Path) -> None:
    import json

    from bench.report import write_results

    results = json.loads((Path(__file__).parent.parent / "bench" / "results.json").read_text())
    path = tmp_path / "RESULTS.md"
    hand = "<!-- by-hand:start -->\n## Measured by hand\n\n| a | 1 |\n<!-- by-hand:end -->"
    path.write_text("# old render\n\n" + hand + "\n\nstale text\n")
    write_results(path, results)
    scale.write_section(
        path, scale.render_section({"measured_at": "d", "machine": "m", "sizes": []})
    )
    write_results(path, results)
    text = path.read_text()
    assert "# old render" not in text and "stale text" not in text
    assert text.count(hand) == 1
    assert text.count(scale.MARK_START) == 1 and text.startswith("# Benchmark results")
