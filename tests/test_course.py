"""Course invariants for every tutorial in solutions/ (discovered, not listed), and the
CLI's answers to the mistakes instructors make (the CLI is called in-process)."""

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass

import nbformat
import pytest
from conftest import ROOT, copy_course, tutorial_ids

import neuroai_core
from neuroai_course import check as check_mod
from neuroai_course import notebooks
from neuroai_course.check import CheckResult, check, check_tutorial
from neuroai_course.cli import main
from neuroai_course.kernels import KernelCPU
from neuroai_course.release import release


def test_tutorials_are_discovered(course):
    assert "M1T1_LIF" in tutorial_ids()
    for t in course.tutorials():
        assert t.source.exists() and t.rel.startswith("tutorials/")


@pytest.mark.slow
@pytest.mark.parametrize("tid", tutorial_ids())
def test_tutorial_invariants(course, tid, tmp_path):
    """Runs offline within budget; source scores full marks; the untouched student
    version scores zero on every graded cell; tutorials/ is in sync with solutions/."""
    (t,) = course.select([tid])
    # As `neuroai check --strict`: the budgets are judged on the kernel's CPU time, which
    # other tests running beside this one do not inflate.
    res = check_tutorial(course, t, tmp_path)
    assert res.strict_ok, "\n".join(res.problems + res.over_budget)
    assert 2 <= res.graded <= 4, f"{tid} has {res.graded} graded exercises (the anatomy: 2-4)"


@pytest.mark.parametrize("tid", tutorial_ids())
def test_tutorial_anatomy(course, tid):
    """The course's tutorial anatomy: every graded test cell has hidden tests and a visible
    check; the student version carries the Colab badge and the setup cell first."""
    (t,) = course.select([tid])
    src = notebooks.read_source(t.source)  # authoring marks become nbgrader metadata
    tests = [c for c in src.cells if c.metadata.get("nbgrader", {}).get("grade")
             and c.cell_type == "code"]  # (a written answer, markdown, is graded by hand)
    assert tests, f"{tid} has no graded test cells"
    for cell in tests:
        gid = cell.metadata["nbgrader"]["grade_id"]
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{gid} has no hidden tests"
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert "check_" in visible, f"{gid}'s visible part gives no helpful message"
        # Test cells import their references themselves: a student who rebinds a name in
        # the notebook (np, lif_rate, check_close) cannot change what the test compares to.
        assert "import numpy as np" in visible and "from neuroai_core" in visible, gid
    student = nbformat.read(t.student, 4)
    assert student.cells[0].id == "colab-badge"
    assert course.colab_url(t) in student.cells[0].source
    first_code = next(c for c in student.cells if c.cell_type == "code")
    assert first_code.id == "setup-install" and "--no-deps" in first_code.source
    assert "torch" not in first_code.source.split("%pip")[1].split("\n")[0].replace(
        "torch, numpy untouched", "")
    assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")


def test_every_tutorial_is_in_toc_and_syllabus(course):
    course.check_toc()
    syllabus = (ROOT / "book" / "syllabus.md").read_text()
    for t in course.tutorials():
        assert f"../{t.rel}.ipynb" in syllabus, f"{t.id} is not linked from the syllabus"


@pytest.mark.slow
def test_release_is_byte_stable_and_in_sync(tmp_path):
    copy = copy_course(tmp_path / "course")
    first = release(copy)
    assert first and not any(changed for _, changed in first), "tutorials/ is out of date"
    (copy.tutorials()[0].student).unlink()
    assert [changed for _, changed in release(copy)][0] is True
    assert not any(changed for _, changed in release(copy))


def _edit_cell(nb_path, grade_id, new_source):
    nb = nbformat.read(nb_path, 4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = new_source
    nbformat.write(nb, nb_path)


@pytest.mark.slow
def test_check_catches_a_test_that_cannot_fail_and_a_wrong_reference(tmp_path):
    copy = copy_course(tmp_path / "course")
    t = copy.select(["M1T1_LIF"])[0]
    _edit_cell(t.source, "test_euler_step",
               "# reference: neuroai_core.neurons.lif.lif_step\nprint('looks fine')\n"
               "### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS")
    _edit_cell(t.source, "fi_rate",
               "def fi_rate(i_nA, params):\n    ### BEGIN SOLUTION\n"
               "    return np.zeros(len(i_nA))\n    ### END SOLUTION")
    release(copy)
    res = check_tutorial(copy, t, tmp_path / "work")
    text = "\n".join(res.problems)
    assert "test_euler_step scored 2 of 2 untouched, expected 0" in text
    assert "test_fi_rate scored 0 of 2, expected full marks" in text
    assert "cell 18 (test_fi_rate) raised AssertionError" in text  # the source's own run
    # a test that cannot fail cannot catch an answer that only calls the reference either
    assert ("test_euler_step: an answer that only calls neuroai_core.neurons.lif.lif_step is "
            "not scored 0 as delegation") in text
    assert len(res.problems) == 4, text


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def neuroai(root, *args):
    """``neuroai --root ROOT ARGS`` in this process (a fresh interpreter costs ~6 s)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(root), *map(str, args)])
    return Ran(code, out.getvalue(), err.getvalue())


def assert_one_line_error(proc, *words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("[IPKernelApp]")]
    assert len(lines) == 1 and lines[0].startswith("neuroai: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def _set_meta(nb_path, which, **changes):
    nb = nbformat.read(nb_path, 4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == which:
            c.metadata["nbgrader"].update(changes)
    nbformat.write(nb, nb_path)


def test_error_solution_cell_without_id(tmp_path):
    copy = copy_course(tmp_path)
    _set_meta(copy.tutorials()[0].source, "euler_step", grade_id="")
    assert_one_line_error(neuroai(tmp_path, "release"), "M1T1_LIF.ipynb", "cell 8", "grade_id")


def test_error_duplicate_grade_id(tmp_path):
    copy = copy_course(tmp_path)
    _set_meta(copy.tutorials()[0].source, "fi_rate", grade_id="euler_step")
    assert_one_line_error(neuroai(tmp_path, "release"), "M1T1_LIF.ipynb", "share grade_id",
                          "'euler_step'")


def test_error_tutorial_missing_from_toc(tmp_path):
    copy_course(tmp_path)
    toc = tmp_path / "_toc.yml"
    toc.write_text(toc.read_text().replace("          - file: tutorials/M1_Neurons/M1T1_LIF\n", ""))
    for cmd in ("release", "check", "book"):
        assert_one_line_error(neuroai(tmp_path, cmd), "missing from _toc.yml",
                              "- file: tutorials/M1_Neurons/M1T1_LIF")


def test_error_unknown_tutorial_and_no_course(tmp_path):
    copy_course(tmp_path)
    assert_one_line_error(neuroai(tmp_path, "check", "M9T9"), "unknown tutorial 'M9T9'")
    assert_one_line_error(neuroai(tmp_path / "book", "release"), "no course found")


@pytest.mark.slow
def test_error_notebook_that_fails_to_run(tmp_path):
    copy = copy_course(tmp_path)
    nb_path = copy.tutorials()[0].source
    nb = nbformat.read(nb_path, 4)
    demo = next(c for c in nb.cells if c.id == "demo-params")
    demo.source = "params = LIFParams(tau_m_ms=-1.0)"
    nbformat.write(nb, nb_path)
    proc = neuroai(tmp_path, "check", "M1T1_LIF")
    assert proc.returncode == 1
    assert "FAIL" in proc.stdout
    assert "cell 4 raised ValueError: tau_m_ms must be a positive number" in proc.stdout
    assert "[IPKernelApp]" not in proc.stdout + proc.stderr  # kernels over ipc: no TCP warning


# --- the release students install ----------------------------------------------------------


def test_release_tag_matches_the_package_version(course):
    """The version is written once (neuroai_core/__init__.py, read by both pyprojects);
    _config.yml's release must be its tag, and every student version installs that tag."""
    assert course.release == f"v{neuroai_core.__version__}"
    spec = f"neuroai-core @ git+https://github.com/{course.repository[0]}@{course.release}"
    assert course.install_spec() == spec
    for t in course.tutorials():
        setup = next(c for c in nbformat.read(t.student, 4).cells if c.cell_type == "code")
        assert f'"{spec}"' in setup.source, t.id
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "neuroai_core.__version__" }' in pyproject
    assert "neuroai_core" in (ROOT / "neuroai_course" / "setup.py").read_text()


def test_release_must_be_a_tag(tmp_path):
    copy_course(tmp_path)
    config = tmp_path / "_config.yml"
    config.write_text(re.sub(r"(?m)^release: .*$", "release: ''", config.read_text()))
    assert_one_line_error(neuroai(tmp_path, "release", "M1T1_LIF"),
                          "_config.yml: release must name a git tag")


# --- CPU time, cache, verdicts ---------------------------------------------------------------


def test_kernel_cpu_counts_the_kernels_cpu_not_its_waiting():
    """A stand-in kernel (its command line names ipykernel) burns CPU, then sleeps: the
    meter reports the CPU the child measured itself (time.process_time), not the wall."""
    code = ("import time\nt=time.process_time()\nwhile time.process_time()-t<0.4: pass\n"
            "time.sleep(0.6)\nprint(time.process_time())")
    with KernelCPU(interval_s=0.05) as meter:
        proc = subprocess.run([sys.executable, "-c", code, "ipykernel-stand-in"],
                              capture_output=True, text=True, check=True)
    own = float(proc.stdout)
    # The child's own count misses its interpreter start-up, which the OS account includes.
    assert own <= meter.cpu_s <= own + 0.5, (own, meter.cpu_s)
    assert meter.wall_s >= 0.6 + own - 0.05 > meter.cpu_s - 0.5


def _fake_check(calls, over_budget=()):
    def fake(course, t, workdir, run_budget_s, autograde_budget_s, split=False, key=None):
        calls.append(t.id)
        return CheckResult(t, graded=2, points=4, run_cpu_s=1.0, run_wall_s=2.0,
                           autograde_cpu_s=0.5, autograde_wall_s=1.0,
                           over_budget=list(over_budget), checked_at="now")
    return fake


def test_check_skips_what_is_unchanged(tmp_path, monkeypatch):
    """The cache: a second check of an unchanged tutorial is not run; a changed source,
    a changed student version, other budgets or --force run it again; a failure is never
    cached; --strict re-checks a result that was over budget."""
    copy = copy_course(tmp_path / "course")
    t = copy.select(["M1T1_LIF"])[0]
    calls = []
    monkeypatch.setattr(check_mod, "check_tutorial", _fake_check(calls))
    (first,) = check(copy, [t])
    (second,) = check(copy, [t])
    assert calls == ["M1T1_LIF"] and not first.cached and second.cached
    assert (second.run_cpu_s, second.autograde_wall_s, second.points) == (1.0, 1.0, 4)
    check(copy, [t], force=True)
    check(copy, [t], run_budget_s=30.0)
    assert len(calls) == 3
    t.source.write_bytes(t.source.read_bytes().replace(b"Euler", b"Euler ", 1))
    check(copy, [t])
    t.student.write_bytes(t.student.read_bytes() + b"\n")
    check(copy, [t])
    assert len(calls) == 5
    check(copy, [t])
    assert len(calls) == 5

    monkeypatch.setattr(check_mod, "check_tutorial", _fake_check(calls, ["too slow"]))
    check(copy, [t], force=True)  # over budget: cached, a warning
    assert len(calls) == 6
    (again,) = check(copy, [t])
    assert again.cached and again.over_budget == ["too slow"] and again.ok
    check(copy, [t], strict=True)
    assert len(calls) == 7

    def failing(course, tut, workdir, run_budget_s, autograde_budget_s, split=False,
                key=None):
        calls.append(tut.id)
        return CheckResult(tut, problems=["broken"])
    monkeypatch.setattr(check_mod, "check_tutorial", failing)
    check(copy, [t], force=True)
    check(copy, [t])
    assert len(calls) == 9


def test_over_budget_warns_and_strict_fails(tmp_path, monkeypatch):
    copy_course(tmp_path)
    monkeypatch.setattr(check_mod, "check_tutorial", _fake_check([], ["ran in 70 s of CPU"]))
    ran = neuroai(tmp_path, "check", "M1T1_LIF")
    assert ran.returncode == 0
    assert "M1T1_LIF: over budget (checked); run 1.0 s CPU (2.0 s wall)" in ran.stdout
    assert ran.stderr.startswith("neuroai: warning: M1T1_LIF over budget in CPU time")
    assert len(ran.stderr.splitlines()) == 1
    strict = neuroai(tmp_path, "check", "M1T1_LIF", "--strict")
    assert_one_line_error(strict, "check failed for M1T1_LIF", "CPU time")


@pytest.mark.slow
def test_check_verdict_is_the_same_on_a_busy_machine(course, tmp_path):
    """Both cores kept busy by two spinning processes: the verdict of the strict check and
    the kernel's CPU time stay what they are on a quiet machine (within 50 %)."""
    (t,) = course.select(["M1T1_LIF"])
    quiet = check_tutorial(course, t, tmp_path / "quiet")
    spin = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
    try:
        busy = check_tutorial(course, t, tmp_path / "busy")
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert quiet.strict_ok and busy.strict_ok, quiet.problems + busy.problems + busy.over_budget
    assert busy.run_cpu_s < 1.5 * quiet.run_cpu_s, (quiet.run_cpu_s, busy.run_cpu_s)
    print(f"\nquiet: {check_mod.line(quiet)}\nbusy:  {check_mod.line(busy)}")


@pytest.mark.slow
def test_a_killed_check_leaves_no_worker_or_kernel_running(tmp_path):
    """SIGKILL of ``neuroai check`` while its two workers run their kernels: the workers
    and their kernels are gone within seconds, not after checking their tutorials (two of
    the heaviest, over 20 s of CPU each to run: the seconds measured by ``neuroai check``)."""
    import time

    import psutil

    copy_course(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "neuroai_course.cli", "--root", str(tmp_path),
                             "check", "--force", "M1T2_Diversity", "M4T4_SurpriseGating"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cmdline(p) -> str:
        try:
            return " ".join(p.cmdline())
        except psutil.Error:
            return ""

    try:
        deadline = time.monotonic() + 180
        while True:
            tree = psutil.Process(proc.pid).children(recursive=True)
            if sum("ipykernel" in cmdline(p) for p in tree) >= 2:
                break
            assert proc.poll() is None and time.monotonic() < deadline, "no kernels started"
            time.sleep(0.5)
        time.sleep(2)  # the kernels at work
        tree = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.kill()
        proc.wait()

    def running(p) -> bool:  # a zombie has stopped; init reaps it
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    _, alive = psutil.wait_procs(tree, timeout=15)
    alive = [p for p in alive if running(p)]
    assert not alive, [(p.pid, cmdline(p)) for p in alive]


@pytest.mark.slow
def test_check_passes_where_no_sandbox_can_run_and_grade_refuses(tmp_path):
    """On a machine without bubblewrap (a fresh one, an instructor's laptop), ``neuroai
    check`` still proves every invariant of a tutorial, delegation included (the kernel runs
    unsandboxed but imports the library copy whose references raise) and says in one line
    why there is no sandbox; ``neuroai grade`` refuses untrusted hand-ins there. bubblewrap
    is hidden in a private mount namespace (``/dev/null`` over it), as a fresh machine has
    none."""
    import shutil

    bwrap = shutil.which("bwrap")
    if os.geteuid() != 0 or not bwrap or not shutil.which("unshare"):
        pytest.skip("hiding bubblewrap takes root, unshare and an installed bubblewrap")
    course = copy_course(tmp_path / "course")
    (tmp_path / "in" / "ana").mkdir(parents=True)
    shutil.copyfile(course.root / "tutorials" / "M1_Neurons" / "M1T1_LIF.ipynb",
                    tmp_path / "in" / "ana" / "M1T1_LIF.ipynb")
    cli = f"{sys.executable} -m neuroai_course.cli --root {course.root}"
    script = (f"mount --bind /dev/null {bwrap} && "
              f"{cli} check M1T1_LIF --force --strict; echo check-exit=$?; "
              f"{cli} grade {tmp_path / 'in'} --out {tmp_path / 'out'}; echo grade-exit=$?")
    proc = subprocess.run(["unshare", "--mount", "--", "sh", "-c", script],
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout
    assert "check-exit=0" in out, out + proc.stderr
    assert "the grading sandbox is unavailable here (bubblewrap is not installed" in out, out
    assert "M1T1_LIF: ok (checked)" in out, out
    assert "grade-exit=1" in out, out
    assert "cannot grade untrusted notebooks safely: bubblewrap is not installed" in \
        proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
