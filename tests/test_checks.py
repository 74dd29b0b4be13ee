"""companion.checks.expect and the grader's comparison (companion.instructors.comparison)."""
import math

import nbformat
import numpy as np
import pytest

from companion import checks
from companion.instructors import comparison


def record(value, **options):
    return {"value": checks.plain(value), "rtol": options.get("rtol", 1e-7), "atol": options.get("atol", 0.0),
            "one_of": None if "one_of" not in options else [checks.plain(v) for v in options["one_of"]]}


def test_expect_gives_feedback_in_the_student_notebook(monkeypatch):
    monkeypatch.delenv(checks.GRADING_VAR, raising=False)
    checks.expect(0.1 + 0.2, 0.3)
    checks.expect(np.ones(3), [1, 1, 1])
    checks.expect("he_normal", one_of=("he_normal", "he_uniform"))
    checks.expect(42)                                              # no expected value: nothing to check here
    with pytest.raises(AssertionError, match=r"expected 0.3 .*got 0.4"):
        checks.expect(0.4, 0.3)
    with pytest.raises(AssertionError, match="expected one of"):
        checks.expect("glorot_uniform", one_of=("he_normal", "he_uniform"))


def test_plain_values():
    assert checks.plain(3) == {"type": "array", "shape": [], "value": [3.0]}
    assert checks.plain([[1, 2]]) == {"type": "array", "shape": [1, 2], "value": [1.0, 2.0]}
    assert checks.plain(True) == {"type": "bool", "value": True}
    assert checks.plain(np.bool_(False)) == {"type": "bool", "value": False}
    assert checks.plain("he_normal") == {"type": "str", "value": "he_normal"}
    assert checks.plain(float("nan"))["value"] == ["nan"]
    assert checks.plain(object())["type"] == "unsupported"


def test_the_solutions_tolerance_decides_not_the_students():
    reference = [record(1.0, rtol=1e-6)]
    assert comparison.agrees([record(1.0 + 1e-7)], reference)
    assert not comparison.agrees([record(1.01, rtol=1.0)], reference)     # the student asked for rtol=1
    assert not comparison.agrees([record([1.0, 1.0])], reference)         # another shape
    assert not comparison.agrees([], reference) and not comparison.agrees([record(1.0)] * 2, reference)


def test_objects_that_claim_to_be_equal_get_nothing():
    class Anything:
        __eq__ = lambda self, other: True                             # noqa: E731
        __hash__ = object.__hash__

    class SneakyStr(str):
        __eq__ = lambda self, other: True                             # noqa: E731
        __hash__ = str.__hash__

    assert not comparison.agrees([record(Anything())], [record(11)])
    assert not comparison.agrees([record(SneakyStr("x"))], [record("he_normal")])   # compared as "x"
    assert not comparison.agrees([{"value": {"type": "array", "shape": [], "value": ["eleven"]}}], [record(11)])
    assert not comparison.agrees([{"value": "11"}], [record(11)])
    assert comparison.verdicts({"t": [{"nonsense": 1}]}, {"t": [record(11)]}) == {"t": False}


def test_one_of_comes_from_the_solution():
    reference = [record("he_normal", one_of=("he_normal", "he_uniform"))]
    assert comparison.agrees([record("he_uniform")], reference)
    assert not comparison.agrees([record("glorot_uniform", one_of=("glorot_uniform",))], reference)


def test_published_values_are_read_from_test_cells_only_and_removed(monkeypatch):
    def output(value):
        return nbformat.v4.new_output("display_data", data={checks.MIME: record(value), "text/plain": ""})

    answer = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "a", "solution": True}})
    answer.outputs = [output(11)]                                  # published from an answer cell: ignored
    test = nbformat.v4.new_code_cell("expect(x)", metadata={"nbgrader": {"grade_id": "t", "grade": True}})
    test.outputs = [nbformat.v4.new_output("stream", text="hello\n"), output(11)]
    notebook = nbformat.v4.new_notebook(cells=[answer, test])
    values, cleaned = comparison.published(notebook, ["t"])
    assert values == {"t": [record(11)]}
    assert [o.output_type for o in cleaned.cells[1].outputs] == ["stream"] and cleaned.cells[0].outputs == []
    assert math.isclose(float(values["t"][0]["value"]["value"][0]), 11)
