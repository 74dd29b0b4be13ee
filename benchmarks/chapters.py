"""Time every chapter run top to bottom, as a student's kernel runs it, at one size.

    make bench-chapters                 (quick size; SIZE=full for the book's size)
    python benchmarks/chapters.py --size full [--chapters sigmoid]

Prints each chapter's wall time against its budget (2 minutes at the quick size, 10 at the full size,
on the course's reference machine: 2 cores, no GPU) and its slowest cells. Nothing is asserted: the
numbers depend on the machine and on what else runs on it.
"""
import argparse
import os
import time
from datetime import datetime
from pathlib import Path

import jupytext
from nbclient import NotebookClient

from companion.instructors.edition import toc_chapters

BUDGET_SECONDS = {"quick": 120, "full": 600}


def cell_seconds(cell):
    """Execution time of a cell from the timing nbclient records in its metadata."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run(path, size):
    """Execute the chapter at ``path`` with ``COURSE_SIZE=size``; returns (seconds, slowest cells)."""
    notebook = jupytext.read(path)
    os.environ.update(COURSE_SIZE=size, COURSE_PROGRESS="0")
    client = NotebookClient(notebook, timeout=-1, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    code = [(cell_seconds(c), i) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    return seconds, sorted(code, reverse=True)[:3]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(BUDGET_SECONDS), default="quick")
    parser.add_argument("--chapters", nargs="*", help="chapter names (default: all notebooks)")
    args = parser.parse_args()
    chapters = {name: path for name, path in toc_chapters().items()
                if "kernelspec:" in Path(path).read_text().split("\n---", 1)[0]
                and (not args.chapters or name in args.chapters)}
    budget = BUDGET_SECONDS[args.size]
    print(f"size {args.size}, budget {budget} s per chapter")
    for name, path in chapters.items():
        seconds, slowest = run(path, args.size)
        cells = ", ".join(f"cell {i}: {s:.0f} s" for s, i in slowest)
        print(f"{name:12}{seconds:8.1f} s  {seconds / budget:6.0%} of budget   slowest: {cells}")


if __name__ == "__main__":
    main()
