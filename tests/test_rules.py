"""The tutorial rules of ``neuroai_course.rules`` on small notebooks built in the test."""

import nbformat

from neuroai_course import authoring, rules
from neuroai_course.book import model_answer_cell

GRADE = {"grade": True, "solution": False, "grade_id": "test_rate", "points": 1}
ANSWER = {"grade": False, "solution": True, "grade_id": "rate"}


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    out = []
    for kind, src, meta in cells:
        cell = (nbformat.v4.new_code_cell(src) if kind == "code"
                else nbformat.v4.new_markdown_cell(src))
        if meta:
            cell.metadata["nbgrader"] = dict(meta)
        if meta and meta.get("grade") and kind == "code":  # as the tools read a source
            authoring._move_references(cell)
        out.append(cell)
    nb.cells = out
    return nb


TEST_OK = ("import numpy as np\nfrom neuroai_core.neurons import lif\n"
           "# reference: neuroai_core.neurons.lif.lif_rate\nassert rate(1) == lif.lif_rate(1)\n")


def test_a_clean_notebook_has_no_problems():
    nb = _nb(("code", "from neuroai_core.neurons import lif, LIFParams\nlif.lif_rate", None),
             ("code", "def rate(i):\n    return i", ANSWER),
             ("code", TEST_OK, GRADE),
             ("code", "from neuroai_core.neurons import lif_rate  # after: allowed", None))
    assert rules.source_problems(nb, "nb") == []


def test_a_bare_import_before_the_exercise_is_named():
    nb = _nb(("code", "from neuroai_core.neurons import (LIFParams,\n    lif_rate)", None),
             ("code", "def rate(i):\n    return i", ANSWER),
             ("code", TEST_OK, GRADE))
    [problem] = rules.bare_reference_problems(nb, "nb")
    assert "cell 1 imports lif_rate" in problem and "before its exercise" in problem


def test_a_bare_import_in_the_test_cell_is_named_even_under_an_alias():
    test = TEST_OK.replace("from neuroai_core.neurons import lif\n",
                           "from neuroai_core.neurons import lif_rate as ref\n")
    nb = _nb(("code", "def rate(i):\n    return i", ANSWER), ("code", test, GRADE))
    [problem] = rules.bare_reference_problems(nb, "nb")
    assert "cell 2" in problem and "its test" in problem


def test_a_test_cell_without_reference_line_is_named():
    nb = _nb(("code", "def rate(i):\n    return i", ANSWER),
             ("code", "assert rate(1) == 1", GRADE))
    [problem] = rules.reference_line_problems(nb, "nb")
    assert "test_rate" in problem and "# reference:" in problem



def test_reference_lines_move_into_the_metadata_and_out_of_the_source():
    none, two = _nb(("code", "# reference: none\nassert 1", GRADE),
                    ("code", "x = 1\n  # Reference: a.b.c, a.d  \nassert x", GRADE)).cells
    assert authoring.references(none) == [] and authoring.declares_references(none)
    assert authoring.references(two) == ["a.b.c", "a.d"]
    assert none.source == "assert 1" and two.source == "x = 1\nassert x"


def test_figures_are_counted_from_image_outputs():
    nb = _nb(("code", "plot()", None), ("code", "plot()", None), ("code", "print(1)", None))
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "f"})
    nb.cells[0].outputs = [png, png]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="1")]
    assert rules.figure_count(nb) == 2
    assert "shows 2 figure(s)" in rules.figure_problems(nb, "nb")[0]
    nb.cells[1].outputs = [png]
    assert rules.figure_problems(nb, "nb") == []


def test_at_most_four_figures_between_two_graded_checks():
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "f"})
    fig = ("code", "plot()", None)
    # 2 figures, a test, 5 figures (too many), a hand-graded answer, 4 figures (allowed).
    answer = {"grade": True, "solution": True, "grade_id": "why", "points": 1}
    cells = ([fig] * 2 + [("code", TEST_OK, GRADE)] + [fig] * 5
             + [("markdown", "Why?", answer)] + [fig] * 4)
    nb = _nb(*cells)
    for cell in nb.cells:
        if cell.source == "plot()":
            cell.outputs = [png]
    assert rules.MAX_FIGURES_BETWEEN_CHECKS == 4
    assert [k for _, _, k in rules.figure_stretches(nb)] == [2, 5, 4]
    [problem] = rules.figure_problems(nb, "nb")
    assert "cells 4-8 show 5 figures" in problem and "at most 4" in problem
    # One more figure after the last check (the notebook's end closes that stretch): flagged.
    nb.cells.append(nbformat.v4.new_code_cell("plot()", outputs=[png]))
    assert len(rules.figure_problems(nb, "nb")) == 2
    # A test cell between the five figures splits them: 3 and 2, no problem there.
    nb.cells.insert(6, nb.cells[2].copy())
    assert [k for _, _, k in rules.figure_stretches(nb)] == [2, 3, 2, 5]


def test_model_answers_leave_the_student_version_and_toggle_for_instructors():
    nb = _nb(("markdown", "## Reflect\nWhy?", None),
             ("markdown", "<!-- model answer -->\nBecause the leak.", None))
    assert rules.is_model_answer(nb.cells[1]) and not rules.is_model_answer(nb.cells[0])
    shown = model_answer_cell(nb.cells[1])
    assert ":class: dropdown" in shown.source and "Because the leak." in shown.source
    assert "<!--" not in shown.source
    assert [c.source for c in rules.strip_model_answers(nb).cells] == ["## Reflect\nWhy?"]


def _figure_cell(source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    return cell


def test_every_figure_needs_alt_text_written_by_the_author():
    with_alt = _figure_cell("# alt: Voltage (mV) against time (ms): it climbs to threshold,\n"
                            "# resets and climbs again.\n# a code comment after a blank?\n"
                            "plot(t, v)")
    without = _figure_cell("plot(t, v)  # alt: too late, not the first line")
    no_figure = nbformat.v4.new_code_cell("x = 1")
    nb = nbformat.v4.new_notebook(cells=[with_alt, without, no_figure])
    # the comment lines right below the first are the same text
    assert rules.alt_text(with_alt) == ("Voltage (mV) against time (ms): it climbs to "
                                        "threshold, resets and climbs again. a code comment "
                                        "after a blank?")
    assert rules.alt_text(without) == "" and rules.alt_text(no_figure) == ""
    problems = rules.alt_problems(nb, "T.ipynb")
    assert len(problems) == 1 and "cell 2 shows a figure without alt text" in problems[0]


def test_the_website_gives_each_image_its_cells_alt_text():
    from conftest import ROOT

    from neuroai_course.book import reader_page
    from neuroai_course.project import Course

    course = Course(ROOT)
    (t,) = course.select(["M1T1_LIF"])
    nb = nbformat.v4.new_notebook(cells=[_figure_cell("# alt: A test figure.\nplot()"),
                                         _figure_cell("plot()")])
    page = reader_page(course, t, nb)
    alts = [c.metadata.get("mystnb", {}).get("image", {}).get("alt") for c in page.cells[1:]]
    assert alts == ["A test figure.", None]
