"""Grade a synthetic class and project the time for a class of 200 students.

    make bench-grading                          (10 students, every chapter with exercises)
    python benchmarks/grading.py --students 20 --workers 2 --timeout 10

The class (``companion.instructors.synthetic``) mixes right, untouched, partial, crashing and endless
answers; an endless answer costs the per-cell timeout, so the benchmark uses a short one (10 s) and
says so. Prints the wall time, the seconds of one worker per notebook, and the projection for 200
students (wall time per student x 200). Nothing is asserted: the numbers depend on the machine and on
what else runs on it. Everything is written under ``_build/bench-grading``.
"""
import argparse
import re
import shutil
import time
from collections import Counter
from pathlib import Path

from companion.instructors import grading, synthetic

ROOT = Path(__file__).resolve().parents[1]
CLASS_SIZE = 200


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=len(synthetic.MIX))
    parser.add_argument("--workers", type=int, default=grading.default_workers())
    parser.add_argument("--timeout", type=int, default=10, help="seconds a cell may run (default 10)")
    parser.add_argument("--chapters", nargs="*", help="chapter names (default: all with exercises)")
    args = parser.parse_args()

    folder = ROOT / "_build" / "bench-grading"
    shutil.rmtree(folder, ignore_errors=True)
    kinds = [synthetic.MIX[i % len(synthetic.MIX)] for i in range(args.students)]
    synthetic.make_class(folder / "submissions", kinds, args.chapters)
    start = time.perf_counter()
    rows = grading.grade(folder / "submissions", folder / "grades", timeout=args.timeout,
                         chapters=args.chapters, workers=args.workers)
    wall = time.perf_counter() - start

    chapters = sorted({row.chapter for row in rows})
    notebooks = args.students * len(chapters)
    statuses = Counter(re.sub(r"cell \d+( \([^)]*\))?", "a cell", row.status.split(" (and")[0])
                       for row in {(r.student, r.chapter): r for r in rows}.values())
    print(f"class: {args.students} students ({', '.join(f'{n} {k}' for k, n in Counter(kinds).items())}), "
          f"chapters: {', '.join(chapters)}")
    print(f"workers: {args.workers}, cell timeout: {args.timeout} s")
    print(f"graded {notebooks} notebooks in {wall:.1f} s: {wall * args.workers / notebooks:.1f} s of one "
          f"worker per notebook, {wall / notebooks:.2f} s of wall time per notebook")
    print(f"projected for {CLASS_SIZE} students: {wall / args.students * CLASS_SIZE / 60:.1f} min "
          f"({CLASS_SIZE * len(chapters)} notebooks)")
    print("statuses: " + "; ".join(f"{n} x {status}" for status, n in statuses.most_common()))


if __name__ == "__main__":
    main()
