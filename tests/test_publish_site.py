"""The student website built from the published tree holds no instructor-only text.

``neuroai publish`` writes the website's sources; Jupyter Book builds them as they are (the
public repository's own build: tutorial pages are the student versions, nothing executed),
with warnings as errors. Every line of every solution region, hidden-test region, model
answer and written answer's model text of every source (``publish.secrets``: those not public
anyway) is then looked for in the text of every page: none is there, and neither is a page
for instructors. A few minutes: the site build.
"""

import html
import re
import subprocess

import pytest
from conftest import ROOT

from neuroai_course import notebooks
from neuroai_course.book import jupyter_book
from neuroai_course.project import Course
from neuroai_course.publish import publish, secrets

pytestmark = pytest.mark.slow


def test_student_site_built_from_the_published_tree_leaks_nothing(tmp_path):
    course = Course(ROOT)
    dest = tmp_path / "public"
    publish(course, dest, repo="https://github.com/example-org/neuroai-public")
    proc = subprocess.run([jupyter_book(), "build", str(dest), "--path-output",
                           str(tmp_path / "site"), "-W", "--keep-going", "--builder", "html"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    site = tmp_path / "site" / "_build" / "html"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= len(course.tutorials()) + 5
    assert (site / "tutorials" / "M1_Neurons" / "M1T1_LIF.html").is_file()
    hidden = secrets(course)
    assert len(hidden) > 500

    def lines(page) -> set[str]:
        raw = page.read_text(encoding="utf-8", errors="replace")
        text = html.unescape(re.sub(r"<[^>]+>", "", raw)) + "\n" + raw
        return {x.strip() for x in text.splitlines()}

    leaked = []
    for page in [*pages, *site.rglob("*.ipynb"), *site.rglob("*.txt")]:
        leaked += [(page.name, ln) for ln in hidden & lines(page)]
    assert not leaked, leaked[:5]
    # The search reads code as a reader sees it: the visible lines of M1T1's test cells
    # (what students get) are found on its page.
    (t,) = course.select(["M1T1_LIF"])
    visible = {ln.strip() for c in notebooks.read_source(t.source).cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
               for ln in c.source.split("### BEGIN HIDDEN TESTS")[0].splitlines()
               if len(ln.strip()) > 20}
    page = lines(site / "tutorials" / "M1_Neurons" / "M1T1_LIF.html")
    assert visible and visible <= page, sorted(visible - page)[:3]
    names = {p.stem for p in site.rglob("*")}
    assert not names & {"instructor", "authoring"}
    assert "instructor.html" not in (site / "book" / "intro.html").read_text()
