"""Grade a synthetic class and project the time for a class of 200 students.

    make bench-grading                          (10 students, every chapter with exercises)
    python benchmarks/grading.py --students 20 --workers 2 --timeout 10

The class (``companion.instructors.synthetic``) mixes right, untouched, partial, crashing and endless
answers; an endless answer costs the per-cell timeout, so the benchmark uses a short one (10 s) and
says so. It grades half the class, then the whole class: the difference gives the time of each further
student, the rest is the fixed cost of a run (the releases, the solutions' reference runs, feedback);
it prints both and the projection for 200 students (fixed cost + 200 x the time per student). Nothing is asserted: the numbers depend on the machine and on
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


def grade_class(folder, students, args):
    """Grade a synthetic class of ``students``; ``(wall seconds, rows, kinds)``."""
    shutil.rmtree(folder, ignore_errors=True)
    kinds = [synthetic.MIX[i % len(synthetic.MIX)] for i in range(students)]
    synthetic.make_class(folder / "submissions", kinds, args.chapters)
    start = time.perf_counter()
    rows = grading.grade(folder / "submissions", folder / "grades", timeout=args.timeout,
                         chapters=args.chapters, workers=args.workers)
    return time.perf_counter() - start, rows, kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=len(synthetic.MIX))
    parser.add_argument("--workers", type=int, default=grading.default_workers())
    parser.add_argument("--timeout", type=int, default=10, help="seconds a cell may run (default 10)")
    parser.add_argument("--chapters", nargs="*", help="chapter names (default: all with exercises)")
    args = parser.parse_args()
    if args.students < 4:
        parser.error("--students must be at least 4 (the benchmark also grades half the class)")

    folder = ROOT / "_build" / "bench-grading"
    half = args.students // 2
    wall_half, _, _ = grade_class(folder / "half", half, args)
    wall, rows, kinds = grade_class(folder / "class", args.students, args)
    per_student = (wall - wall_half) / (args.students - half)
    fixed = max(wall - per_student * args.students, 0.0)

    chapters = sorted({row.chapter for row in rows})
    notebooks = args.students * len(chapters)
    statuses = Counter(re.sub(r"cell \d+( \([^)]*\))?", "a cell", row.status.split(" (and")[0])
                       for row in {(r.student, r.chapter): r for r in rows}.values())
    print(f"class: {args.students} students ({', '.join(f'{n} {k}' for k, n in Counter(kinds).items())}), "
          f"chapters: {', '.join(chapters)}")
    print(f"workers: {args.workers}, cell timeout: {args.timeout} s")
    print(f"graded {notebooks} notebooks in {wall:.1f} s ({half} students: {wall_half:.1f} s)")
    print(f"each further student: {per_student:.1f} s of wall time, {per_student * args.workers / len(chapters):.1f} s "
          f"of one worker per notebook; fixed cost (releases, the solutions' runs): {fixed:.0f} s")
    print(f"projected for {CLASS_SIZE} students: {(fixed + per_student * CLASS_SIZE) / 60:.1f} min "
          f"({CLASS_SIZE * len(chapters)} notebooks)")
    print("statuses: " + "; ".join(f"{n} x {status}" for status, n in statuses.most_common()))


if __name__ == "__main__":
    main()
