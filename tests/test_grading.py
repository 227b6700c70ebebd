"""`neuroai grade` on a generated cohort: messy, broken and hostile hand-ins of two tutorials.

The expected totals come from the tutorials' points (see grading_corpus.py); the honest
hand-ins must get the same grades in the hostile cohort (graded with 2 workers) as when
graded alone, and every hostile one gets 0 on the exercises it faked.
"""

import datetime as dt
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_course
from grading_corpus import FULL, M1_WRITTEN, M2_FULL, cases, load_csv, write_cohort

from neuroai_course import similarity
from neuroai_course.grade import Limits, grade

LATE = {"ivy/M1T1_LIF.ipynb"}
SENTINEL = b"root's own file: no hand-in may change a byte of it or its mode\n"


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("bwrap")]
DEADLINE = dt.datetime(2027, 1, 1)
LIMITS = Limits(cell_timeout_s=10, submission_timeout_s=240)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    base = tmp_path_factory.mktemp("cohort")
    course = copy_course(base / "course")
    out = base / "out"
    # A root-owned file outside the output and the course, which hostile hand-ins aim at.
    sentinel = base / "sentinel"
    sentinel.write_bytes(SENTINEL)
    sentinel.chmod(0o600)
    corpus = cases(course.root, out, sentinel)
    write_cohort(corpus, base / "in", late=LATE)
    # A symbolic link among the hand-ins: reported, never followed.
    (base / "in" / "zed").mkdir()
    (base / "in" / "zed" / "M1T1_LIF.ipynb").symlink_to(course.root / "solutions" / "M1_Neurons"
                                                        / "M1T1_LIF.ipynb")
    summary = grade(course, base / "in", out, workers=2, deadline=DEADLINE, limits=LIMITS,
                    progress=False)
    # report.csv neutralises a cell a spreadsheet would run ('=...' becomes "'=...")
    report = {r["input"].removeprefix("'"): r for r in load_csv(out / "report.csv")}
    grades = {(r["student"], r["tutorial"]): r for r in load_csv(out / "grades.csv")}
    assert sentinel.read_bytes() == SENTINEL and stat.S_IMODE(sentinel.stat().st_mode) == 0o600
    return course, corpus, out, summary, report, grades


def student_of(name: str) -> str:
    first = name.split("/")[0]
    return first if "/" in name else first.split("_")[0]


def row_of(grades: dict, name: str) -> dict:
    return grades[(student_of(name), tutorial_of(name))]


def tutorial_of(name: str) -> str:
    return "M2T2_Dopamine" if "M2T2" in name else "M1T1_LIF"


def test_every_input_file_is_reported(cohort):
    _, corpus, _, summary, report, _ = cohort
    assert sorted(report) == sorted([c.name for c in corpus] + ["zed/M1T1_LIF.ipynb"])
    assert len(summary.entries) == len(corpus) + 1
    link = report["zed/M1T1_LIF.ipynb"]
    assert link["status"] == "not a notebook" and "symbolic link" in link["reason"]


@pytest.mark.parametrize("i", range(len(cases(ROOT, ROOT / "_out"))))
def test_each_hand_in_gets_its_grade_or_a_clear_flag(cohort, i):
    _, corpus, _, _, report, grades = cohort
    case = corpus[i]
    row = report[case.name]
    expected_status = "late" if case.name in LATE else case.status
    assert row["status"] == expected_status, (case.name, row)
    if case.total is not None:
        assert float(grades[(row["student"], row["tutorial"])]["total"]) == case.total, \
            (case.name, row)
    if row["status"] != "graded":
        assert row["reason"], f"{case.name} is flagged without a reason"


def test_hostile_code_touched_nothing_outside_its_folder(cohort):
    course, _, out, _, _, _ = cohort
    assert not (course.root / "HACKED").exists()
    assert not (course.root / "tutorials" / "x.txt").exists()
    assert (course.root / "solutions" / "M1_Neurons" / "M1T1_LIF.ipynb").is_file()
    assert (out / "grades.csv").is_file() and (out / "gradebook.db").is_file()
    # No process of a hand-in outlives the grading (fork bomb's children included). The
    # cohort was graded in this process, so its jobs' names (in every kernel's, launcher's and
    # bubblewrap's command line, through the scratch and kernel-spec folders) start with
    # h<this pid>-; other tests may be grading on the machine at the same time.
    ours = f"h{os.getpid()}-"
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    assert ours not in ps, [line for line in ps.splitlines() if ours in line]
    assert not list(Path("/dev/shm").glob("left-behind*"))


def test_faked_exercises_score_zero_with_a_reason(cohort):
    _, _, _, _, report, grades = cohort
    tamper = grades[("h-tamper", "M1T1_LIF")]
    assert float(tamper["test_euler_step"]) == 0 and float(tamper["test_fi_rate"]) == 0
    for name, gid in (("h-delegate/M1T1_LIF.ipynb", "test_fi_rate"),
                      ("h-delegate/M2T2_Dopamine.ipynb", "test_my_td_errors")):
        row = report[name]
        assert row["status"] == "reference used", row
        assert "calls the course's reference implementation" in row["reason"], row
        assert gid in row["reason"] and float(row_of(grades, name)[gid]) == 0


def test_feedback_shows_the_graders_messages_only(cohort):
    _, _, out, _, _, _ = cohort
    page = (out / "feedback" / "ana" / "M1T1_LIF.html").read_text()
    # the autograded points in full; the written answer (left as it came) scores 0
    assert f"Score: <strong>{FULL:g} / {FULL + M1_WRITTEN:g}</strong>" in page
    assert "matches the reference" in page
    page = (out / "feedback" / "ana" / "M2T2_Dopamine.html").read_text()
    assert f"{M2_FULL:g} / {M2_FULL:g}" in page
    page = (out / "feedback" / "ben" / "M1T1_LIF.html").read_text()
    assert f"0 / {FULL + M1_WRITTEN:g}" in page and "NotImplementedError" in page
    page = (out / "feedback" / "jon" / "M1T1_LIF.html").read_text()
    assert "Hint:" in page  # the visible test's helpful message reaches the student
    for student in ("h-result", "h-tamper", "h-machine"):  # kernel output never shows
        page = (out / "feedback" / student / "M1T1_LIF.html").read_text()
        assert "HIDDEN" not in page and "reached" not in page and "42" not in page


def test_students_stay_distinct_and_csv_cells_are_safe(cohort):
    _, _, out, _, report, grades = cohort
    assert float(grades[("李雷", "M1T1_LIF")]["total"]) == FULL
    assert float(grades[("韩梅梅", "M1T1_LIF")]["total"]) == 2
    raw = (out / "report.csv").read_text(encoding="utf-8")
    assert "\n=HYPERLINK" not in raw and ",=HYPERLINK" not in raw
    assert "'=HYPERLINK(1)/M1T1_LIF.ipynb" in raw


def test_summary_counts(cohort):
    _, corpus, _, summary, _, _ = cohort
    line = summary.line()
    assert f"{len(corpus) + 1} files" in line and "bubblewrap" in summary.isolation


def test_honest_hand_ins_get_the_same_grades_alone(cohort, tmp_path):
    course, corpus, _, _, _, grades = cohort
    honest = [c for c in corpus if c.honest and c.total is not None
              and student_of(c.name) in ("ana", "cleo", "李雷", "ben")]
    write_cohort(honest, tmp_path / "in")
    grade(course, tmp_path / "in", tmp_path / "out", limits=LIMITS, progress=False)
    alone = {(r["student"], r["tutorial"]): r for r in load_csv(tmp_path / "out" / "grades.csv")}
    assert len(alone) == len(honest)
    for key, row in alone.items():
        assert row == grades[key], key


def test_a_hostile_hand_in_cannot_change_the_next_in_its_slot(tmp_path):
    """One worker: the machine-attacking hand-in, then honest ones, in the same slot; their
    grades are those they get alone (fresh cgroups, scratch and kernel per hand-in)."""
    course = copy_course(tmp_path / "course")
    picked = [c for c in cases(course.root, tmp_path / "out")
              if c.name.split("/")[0] in ("h-machine", "h-fork", "ana", "cleo")
              and "M1T1" in c.name]
    write_cohort(picked, tmp_path / "in")
    grade(course, tmp_path / "in", tmp_path / "out", workers=1, limits=LIMITS, progress=False)
    rows = {r["student"]: float(r["total"]) for r in load_csv(tmp_path / "out" / "grades.csv")}
    assert rows == {"h-machine": FULL, "h-fork": FULL, "ana": FULL, "cleo": 2}, rows


def test_rerun_gives_same_grades_and_resubmission_replaces(tmp_path):
    course = copy_course(tmp_path / "course")
    corpus = [c for c in cases(course.root, tmp_path / "out")
              if c.name.startswith(("ana/", "cleo/"))]
    write_cohort(corpus, tmp_path / "in")
    out = tmp_path / "out"
    grade(course, tmp_path / "in", out, progress=False)
    first = load_csv(out / "grades.csv")
    grade(course, tmp_path / "in", out, progress=False)
    assert load_csv(out / "grades.csv") == first
    # cleo hands in again, now with every exercise right
    ana = next(c for c in corpus if c.name.startswith("ana/"))
    (tmp_path / "in2" / "cleo").mkdir(parents=True)
    (tmp_path / "in2" / "cleo" / "M1T1_LIF.ipynb").write_bytes(ana.data)
    grade(course, tmp_path / "in2", out, progress=False)
    rows = {r["student"]: r for r in load_csv(out / "grades.csv")}
    assert float(rows["cleo"]["total"]) == FULL and float(rows["ana"]["total"]) == FULL
    (row,) = load_csv(out / "report.csv")
    assert "replaces the hand-in graded earlier" in row["reason"]


def test_zip_input_and_a_notebook_of_another_tutorial(tmp_path):
    course = copy_course(tmp_path / "course")
    ana = next(c for c in cases(course.root, tmp_path) if c.name.startswith("ana/"))
    other = course.root / "solutions" / "M1_Neurons" / "M1T3_SpikesEnergy.ipynb"
    if not other.exists():
        pytest.skip("needs a second tutorial")
    zpath = tmp_path / "cohort.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("ana_1_M1T1_LIF.ipynb", ana.data)
        zf.writestr("bo_1_M1T1_LIF.ipynb", other.read_bytes())
        zf.writestr("__MACOSX/._ana_1_M1T1_LIF.ipynb", b"\x00\x01")
    grade(course, zpath, tmp_path / "out", tutorial="M1T1_LIF", progress=False)
    report = {r["input"]: r for r in load_csv(tmp_path / "out" / "report.csv")}
    assert report["ana_1_M1T1_LIF.ipynb"]["status"] == "graded"
    assert report["bo_1_M1T1_LIF.ipynb"]["status"] == "unknown tutorial"
    assert "M1T3_SpikesEnergy" in report["bo_1_M1T1_LIF.ipynb"]["reason"]
    assert report["__MACOSX/._ana_1_M1T1_LIF.ipynb"]["status"] == "not a notebook"
    assert nbformat.read(other, 4)  # the course's own file is untouched


def test_cli_grade_prints_a_summary_and_rejects_bad_options(tmp_path):
    course = copy_course(tmp_path / "course")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.py").write_text("print(1)\n")
    cli = [sys.executable, "-m", "neuroai_course.cli", "--root", str(course.root), "grade",
           str(tmp_path / "in"), "--out", str(tmp_path / "out")]
    proc = subprocess.run(cli, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "1 files: 0 graded, 1 flagged, 0 failed" in proc.stdout
    assert re.search(r"s wall, \d+ s CPU \(students' kernels", proc.stdout), proc.stdout
    proc = subprocess.run([*cli, "--lms", "canvas", "--pattern", "(?P<student>.+)"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "give --lms or --pattern, not both" in proc.stderr
    proc = subprocess.run([*cli, "--workers", "0"], capture_output=True, text=True)
    assert proc.returncode == 1 and "workers must be at least 1, got 0" in proc.stderr
    proc = subprocess.run([*cli, "--deadline", "friday"], capture_output=True, text=True)
    assert proc.returncode == 1 and "--deadline must be an ISO date" in proc.stderr


def test_honest_hand_ins_of_every_tutorial_are_graded_without_flags(tmp_path):
    """Each tutorial answered with its own solutions (the mark-authored M5 ones included,
    which train networks: torch and our package warm up private state as they run) is
    graded in full and flagged with nothing; the untouched student version gets zero."""
    from neuroai_course import notebooks

    course = copy_course(tmp_path / "course")
    subs = tmp_path / "in"
    for t in course.tutorials():
        solutions = {c.metadata["nbgrader"]["grade_id"]: c.source
                     for c in notebooks.read_source(t.source).cells
                     if c.metadata.get("nbgrader", {}).get("solution")}
        answered = nbformat.read(t.student, 4)
        for c in answered.cells:
            gid = c.metadata.get("nbgrader", {}).get("grade_id")
            if gid in solutions:
                c.source = solutions[gid]
        (subs / "ann").mkdir(parents=True, exist_ok=True)
        (subs / "bo").mkdir(parents=True, exist_ok=True)
        nbformat.write(answered, subs / "ann" / f"{t.id}.ipynb")
        nbformat.write(nbformat.read(t.student, 4), subs / "bo" / f"{t.id}.ipynb")
    grade(course, subs, tmp_path / "out", workers=2, limits=LIMITS, progress=False)
    report = load_csv(tmp_path / "out" / "report.csv")
    # answered with the course's own solutions: flagged as such, for a person to judge
    assert {(r["student"], r["status"], r["reason"]) for r in report} == {
        ("ann", "graded", similarity.REFERENCE), ("bo", "graded", "")}, report
    totals = {(r["student"], r["tutorial"]): (float(r["total"]), float(r["max"]))
              for r in load_csv(tmp_path / "out" / "grades.csv")}
    assert len(totals) == 2 * len(course.tutorials())
    # written answers wait for a hand grade: the autograded total is the maximum without them
    written = {t.id: sum(c.metadata["nbgrader"]["points"]
                         for c in notebooks.read_source(t.source).cells
                         if c.cell_type == "markdown" and c.metadata.get("nbgrader", {})
                         .get("grade")) for t in course.tutorials()}
    assert sum(1 for v in written.values() if v) >= 3  # three tutorials have one
    for (student, tid), (total, top) in totals.items():
        assert total == (top - written[tid] if student == "ann" else 0), (student, tid, total,
                                                                          top)


def test_the_output_folder_is_its_owners_only(cohort):
    """Solutions and hidden tests (source/), the gradebook and students' work: mode 700."""
    _, _, out, _, _, _ = cohort
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_hidden_tests_name_the_property_never_values_or_inputs(cohort):
    _, _, out, _, report, grades = cohort
    page = (out / "feedback" / "g-peek" / "M1T1_LIF.html").read_text()
    # the euler_step written for the default parameters only fails the hidden check on
    # other parameters: its label is shown, its expected value is not
    assert "hidden test failed: euler_step with other parameters" in page, page
    assert "SECRET-INPUT" not in page and "hidden test: fi_rate raised ValueError" in page
    hidden = page.split("hidden test", 1)[1]
    assert "expected" not in hidden and "-64.8" not in page
    assert float(grades[("g-peek", "M1T1_LIF")]["total"]) == 0


def test_run_enders_get_their_own_status_and_the_run_finishes(cohort):
    _, _, out, _, report, grades = cohort
    assert float(grades[("g-surrogate", "M1T1_LIF")]["total"]) == FULL - 2
    page = (out / "feedback" / "g-surrogate" / "M1T1_LIF.html").read_text(encoding="utf-8")
    assert "fi_rate raised ValueError: bad ? value" in page
    assert float(grades[("g-deep", "M1T1_LIF")]["total"]) == FULL
    assert float(grades[("José", "M1T1_LIF")]["total"]) == FULL
    for name in ("cohort.html", "report.csv", "grades.csv"):
        assert (out / name).is_file()
    sleepy = report["g-sleep/M1T1_LIF.ipynb"]
    assert sleepy["status"] == "timed out" and "a call of fi_rate" in sleepy["reason"]


def test_identical_answers_are_flagged_for_a_person(cohort):
    _, _, out, _, report, _ = cohort
    assert "hand-in of twin-b" in report["twin-a/M1T1_LIF.ipynb"]["reason"]
    assert "hand-in of twin-a" in report["twin-b/M1T1_LIF.ipynb"]["reason"]
    assert similarity.REFERENCE in report["ana/M1T1_LIF.ipynb"]["reason"]
    assert similarity.REFERENCE in report["cleo/M1T1_LIF.ipynb"]["reason"]  # one exercise
    assert "identical to" not in report["jon/M1T1_LIF.ipynb"]["reason"]
    assert "twin-a" in (out / "cohort.html").read_text(encoding="utf-8")
