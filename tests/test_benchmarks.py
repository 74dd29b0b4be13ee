"""The trainer benchmark runs and prints its table (its numbers are not asserted: nothing here is timed)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(*args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trainers.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COURSE_PROGRESS": "0"})


def test_the_trainer_benchmark_prints_a_row_per_framework_and_the_best_of_its_repeats():
    done = run_benchmark("--train-size", "640", "--batch-size", "64", "--repeats", "2")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()
            if line.split()[:1] in (["tf1"], ["keras"], ["torch"])}
    assert sorted(rows) == ["keras", "tf1", "torch"]
    assert len(rows["keras"]) == len(rows["tf1"]) + 3          # Keras alone has fit (seconds, "s") and fit / train
    for row in rows.values():                                    # seconds 's' and ratios, all positive
        numbers = [float(cell) for cell in row[1:] if cell != "s"]
        assert len(numbers) == len(row[1:]) - row.count("s") and min(numbers) > 0
    assert re.search(r"best of 2 runs each, largest spread \d+\.\d\d", done.stdout)


def test_a_benchmark_needs_at_least_one_run():
    done = run_benchmark("--repeats", "0")
    assert done.returncode == 2 and "--repeats must be at least 1, got 0" in done.stderr
