"""The memory of a command with the processes it starts: a command that shares its work
out between worker processes is measured as a whole (GNU time's peak is the largest
single process's)."""

from __future__ import annotations

import os


def tree_memory(root: int) -> dict[str, int]:
    """KiB of RSS and of PSS of process ``root`` and all its descendants, now."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    # "pid (name) state ppid ...": the name may hold spaces and parentheses.
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    total = {"rss": 0, "pss": 0}
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    name, _, rest = line.partition(":")
                    if name in ("Rss", "Pss"):
                        total[name.lower()] += int(rest.split()[0])
        except (OSError, ValueError):
            continue
    return total
