"""The website: built offline with Jupyter Book 1.x (warnings as errors), every tutorial
page shows its figures and a working Colab link; solutions only in the instructor build."""

import html as htmllib
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(built_book):
    """``(course copy, student site, instructor site)``, shared with tests/test_browser.py
    (see ``built_book`` in conftest.py: built once per session, whatever the workers)."""
    return built_book


def solution_lines(t):
    """A distinctive line of each solution region of the tutorial's source."""
    nb = nbformat.read(t.source, 4)
    lines = []
    for cell in nb.cells:
        m = re.search(r"### BEGIN SOLUTION\n(.*?)\n", cell.source)
        if m:
            lines.append(m.group(1).strip())
    assert lines
    return lines


def page(site: Path, t) -> str:
    return (site / f"{t.rel}.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """The page's text without tags (code is split into highlighted spans)."""
    return htmllib.unescape(re.sub(r"<[^>]+>", "", html))


def test_narrative_pages_exist(built):
    _, site, _ = built
    for name in ("index", "book/syllabus", "book/start", "book/instructor", "book/references",
                 "book/limits"):
        assert (site / f"{name}.html").exists(), name


def test_tutorial_pages_show_figures_and_colab_link(built):
    course, site, _ = built
    for t in course.tutorials():
        html = page(site, t)
        pngs = re.findall(r'src="((?:\.\./)*_images/[0-9a-f]+\.png)"', html)
        executed = nbformat.read(course.root / "_build/executed" / t.module / f"{t.id}.ipynb", 4)
        n_figures = sum("image/png" in o.get("data", {})
                        for c in executed.cells for o in c.get("outputs", []))
        assert n_figures >= 3 and len(pngs) == n_figures, (len(pngs), n_figures)
        for src in pngs:
            assert (site / t.rel).parent.joinpath(src).resolve().is_file(), src
        url = course.colab_url(t)
        assert f'href="{url}"' in html
        # The link points into the repository at the committed student version.
        assert url.endswith(f"/blob/main/{t.rel}.ipynb") and (ROOT / f"{t.rel}.ipynb").is_file()


def test_student_site_hides_solutions_and_instructor_site_toggles_them(built):
    course, site, instructor_site = built
    for t in course.tutorials():
        student_html, instructor_html = page(site, t), page(instructor_site, t)
        assert "NotImplementedError" in student_html
        student_text, instructor_text = text_of(student_html), text_of(instructor_html)
        assert "BEGIN HIDDEN TESTS" not in student_text
        assert "BEGIN HIDDEN TESTS" in instructor_text
        for line in solution_lines(t):
            assert line not in student_text, line
            assert line in instructor_text, line
        # behind a toggle: myst-nb renders hide-input cells inside a closed <details>
        toggle = '<div class="cell tag_hide-input docutils container">\n<details'
        n_toggles = instructor_html.count(toggle)
        assert n_toggles >= len(solution_lines(t)), n_toggles
        assert toggle not in student_html


def test_widget_explorer_shows_static_fallback(built):
    course, site, _ = built
    for t in course.tutorials():
        assert "Static figure at the default values" in page(site, t)


def test_pages_load_nothing_from_the_network(built):
    """The site renders offline: scripts, styles and images come from the site itself
    (MathJax is vendored under book/_static/vendor/mathjax)."""
    _, site, _ = built
    for html_file in site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|img|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        remote = [u for u in remote if not u.startswith("https://colab.research.google.com/")]
        assert not remote, (html_file.name, remote[:3])
    assert (site / "_static/vendor/mathjax/tex-svg.js").is_file()


def test_a_repeated_build_rebuilds_only_what_changed(built, tmp_path):
    """The second build reuses the executed notebooks and Jupyter Book's environment: with
    one narrative page edited, that page is written again and no tutorial page is."""
    from neuroai_course.book import build_book

    course, _, _ = built
    html = course.root / "_build" / "book-student" / "_build" / "html"
    pages = {t.id: html / f"{t.rel}.html" for t in course.tutorials()}
    start = course.root / "book" / "start.md"
    before = {k: p.stat().st_mtime_ns for k, p in pages.items()}
    start_before = (html / "book" / "start.html").stat().st_mtime_ns
    original = start.read_text(encoding="utf-8")
    try:
        start.write_text(original + "\nA sentence added by the test.\n", encoding="utf-8")
        index = build_book(course, out=tmp_path / "site")
    finally:
        start.write_text(original, encoding="utf-8")
    assert "A sentence added by the test." in (index.parent / "book" / "start.html").read_text()
    assert (html / "book" / "start.html").stat().st_mtime_ns > start_before
    assert {k: p.stat().st_mtime_ns for k, p in pages.items()} == before
