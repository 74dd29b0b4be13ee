"""The grader's side of :func:`companion.checks.expect`: the values a test cell published, compared
in the grader's process with those of the chapter's solution.

nbgrader scores a test cell by whether it raised in the student's kernel, which a student's code can
fake (rewrite ``np.isclose``, return an object equal to everything). Here a test cell keeps its
points only if, in addition, every value it published (plain JSON: numbers, arrays, strings) matches
the value the same ``expect`` published when the solution ran, within the tolerance of the solution's
run: nothing of the student's process takes part in the comparison.
"""
from companion.checks import MIME, matches


def published(notebook, test_ids):
    """``{grade_id: [published values]}`` of the test cells ``test_ids`` of an executed notebook, and
    the notebook without those outputs (the feedback page shows what a student would see)."""
    found = {grade_id: [] for grade_id in test_ids}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        outputs = []
        for output in cell.get("outputs", []):
            record = output.get("data", {}).get(MIME) if output.get("output_type") == "display_data" else None
            if record is None:
                outputs.append(output)
            elif grade_id in found:
                found[grade_id].append(record)
        if cell.cell_type == "code":
            cell.outputs = outputs
    return found, notebook


def agrees(got, reference):
    """True if the values one test cell published (``got``) match the solution's (``reference``)."""
    if len(got) != len(reference):
        return False
    for mine, theirs in zip(got, reference):
        value = mine.get("value") if isinstance(mine, dict) else None
        if not isinstance(value, dict):
            return False
        if theirs["one_of"] is not None:
            if not any(matches(value, option, 0.0, 0.0) for option in theirs["one_of"]):
                return False
        elif not matches(value, theirs["value"], theirs["rtol"], theirs["atol"]):
            return False
    return True


def verdicts(got, reference):
    """``{grade_id: True if the cell's values match the solution's}`` for every test of ``reference``."""
    return {grade_id: agrees(got.get(grade_id, []), values) if isinstance(got.get(grade_id, []), list) else False
            for grade_id, values in reference.items()}
