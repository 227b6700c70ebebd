"""What readers get: the built website in a real browser (issue 8).

The student and instructor sites (built once per session, see ``built_book`` in
conftest.py) are served on loopback and every page is opened in headless Chromium, driven
over the Chrome DevTools Protocol: no console error, no failed request, no request to any
host but the local server, no broken internal link, link target or image; every tutorial
page shows its figures, its Colab link and a static explorer figure with the note that the
interactive version runs on Colab (never an empty widget box or a raw widget repr); the
search page finds a tutorial; the syllabus links every tutorial; the student site hides the
solutions and the instructor site shows them when their toggle is clicked. Screenshots of
the home page and of a tutorial page go to ``_build/screenshots/``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, apt_install

from neuroai_core.widgets import STATIC_NOTE

pytestmark = pytest.mark.slow
websocket = pytest.importorskip("websocket", reason="websocket-client is not installed")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--window-size=1280,900",
         # nothing may come from the network: any other host fails to resolve at once
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
RAW_WIDGET = ("interactive(children=", "VBox(", "HBox(", "FloatSlider(", "Output(")
SEARCH_WORD, SEARCH_TUTORIAL = "Izhikevich", "M1T2_Diversity"
SCREENSHOT_TUTORIAL = "M1T1_LIF"


# --------------------------------------------------------------------------- Chromium


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def install_chromium() -> str:
    """Install Debian's chromium (as root, like the PostgreSQL test); return why not, or ''."""
    return apt_install("chromium")


def chromium_or_fail() -> str:
    """Chromium's path, installed first when missing; the test fails with the reason when it
    cannot be had."""
    exe = chromium_path()
    if exe is None:
        why = install_chromium()
        exe = chromium_path()
        if exe is None:
            pytest.fail(why or "chromium installed but not found on PATH")
    return exe


class Page:
    """One tab of Chromium over the DevTools protocol: commands, and the events since the
    last navigation (console errors, exceptions, requests and their failures)."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def send(self, method: str, **params):
        self.next_id += 1
        msg_id = self.next_id
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        end = time.monotonic() + seconds
        self.ws.settimeout(0.05)
        try:
            while time.monotonic() < end:
                try:
                    msg = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if "method" in msg:
                    self.events.append(msg)
        finally:
            self.ws.settimeout(60)

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str, settle: float = 0.3) -> None:
        self.events = []
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 30

        def loading() -> bool:  # no load yet, or a redirect (index.html) started another
            methods = [e["method"] for e in self.events
                       if e["method"] in ("Page.loadEventFired", "Page.frameStartedLoading")]
            return not methods or methods[-1] != "Page.loadEventFired"

        while loading():
            assert time.monotonic() < deadline, f"{url} did not load in 30 s"
            self.pump(0.1)
        self.pump(0.2)
        while loading():
            assert time.monotonic() < deadline, f"{url} did not load in 30 s"
            self.pump(0.1)
        # images that load lazily load now; then wait for every image to settle
        self.js("""Promise.all(Array.from(document.images).map(i => {
                     i.loading = 'eager';
                     return i.complete ? null : new Promise(r => {
                       i.addEventListener('load', r); i.addEventListener('error', r);
                       setTimeout(r, 5000); });
                   }))""")
        self.pump(settle)

    def wait_for(self, expression: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            self.pump(0.2)
        return self.js(expression)

    def problems(self, origin: str) -> list[str]:
        """Console errors, uncaught exceptions, failed requests and requests off loopback.
        (The site names its icon, so a browser has no reason to probe ``/favicon.ico``.)"""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", "")))
                                for a in p.get("args", []))
                out.append(f"console.{p['type']}: {text[:300]}")
            elif e["method"] == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"exception: {d.get('exception', {}).get('description', d['text'])}"
                           [:300])
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                entry = p["entry"]
                out.append(f"log: {entry['text'][:200]} {entry.get('url', '')}")
            elif e["method"] == "Network.loadingFailed" and not p.get("canceled"):
                out.append(f"request failed: {p.get('errorText')} ({p.get('type')})")
            elif e["method"] == "Network.responseReceived" and p["response"]["status"] >= 400:
                out.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
            elif e["method"] == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if url.startswith(("http:", "https:", "ws:", "wss:")) \
                        and not url.startswith(origin):
                    out.append(f"request off loopback: {url}")
        return out

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def click(self, selector_js: str) -> None:
        """A real mouse click at the centre of the element ``selector_js`` evaluates to."""
        self.js(f"({selector_js}).scrollIntoView({{block: 'center'}})")
        box = self.js(f"(() => {{ const r = ({selector_js}).getBoundingClientRect();"
                      " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                      button="left", clickCount=1)
        self.pump(0.3)


class Browser:
    def __init__(self, exe: str):
        self.profile = Path(tempfile.mkdtemp(prefix="neuroai-chromium-"))
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"{exe} did not start (exit code {self.proc.returncode})")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])

    def new_page(self) -> Page:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list") as r:
            targets = [t for t in json.load(r) if t["type"] == "page"]
        return Page(targets[0]["webSocketDebuggerUrl"])

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Site:
    """A folder served over HTTP on 127.0.0.1 at a free port, in a thread."""

    def __init__(self, folder: Path):
        self.folder = folder
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, rel: str) -> str:
        return self.origin + rel

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def browser():
    b = Browser(chromium_or_fail())
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def sites(built_book):
    course, student, instructor = built_book
    served = Site(student), Site(instructor)
    try:
        yield course, *served
    finally:
        for s in served:
            s.close()


@pytest.fixture(scope="module")
def page(browser):
    return browser.new_page()


# --------------------------------------------------------------------------- the crawl


LINKS_JS = """(() => ({
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name),
  images: Array.from(document.images).map(i => ({
    src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0,
    shown: i.getClientRects().length > 0})),
  text: document.body.innerText,
  outputs: Array.from(document.querySelectorAll('.cell_output')).map(e => e.innerText),
  empty_outputs: Array.from(document.querySelectorAll('.cell_output')).filter(e =>
      !e.innerText.trim() && !e.querySelector('img, svg, table, iframe, video')).length,
}))()"""


def visit(page: Page, site: Site, rel: str) -> dict:
    page.goto(site.url(rel))
    info = page.js(LINKS_JS)
    info["problems"] = page.problems(site.origin)
    return info


def _target(site: Site, url: str) -> tuple[str, str] | None:
    """``(path relative to the site, fragment)`` of an internal link, or None."""
    if not url.startswith(site.origin):
        return None
    parts = urllib.parse.urlsplit(url)
    rel = urllib.parse.unquote(parts.path).lstrip("/")
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    return rel, parts.fragment


@pytest.fixture(scope="module")
def crawl(sites, page):
    """Every page of the student site, opened in the browser; what each one showed."""
    _, student, _ = sites
    pages = sorted(str(p.relative_to(student.folder)) for p in student.folder.rglob("*.html")
                   if p.relative_to(student.folder).parts[0] not in ("_static", "_sources"))
    return {rel: visit(page, student, rel) for rel in pages}


def test_every_page_loads_cleanly_from_loopback_only(crawl):
    assert len(crawl) >= 10, sorted(crawl)
    bad = {rel: info["problems"] for rel, info in crawl.items() if info["problems"]}
    assert not bad, json.dumps(bad, indent=1)[:4000]
    print(f"\n{len(crawl)} pages checked in Chromium: " + ", ".join(sorted(crawl)))


def test_no_broken_internal_links_or_images(crawl, sites):
    _, student, _ = sites
    broken = []
    for rel, info in crawl.items():
        for img in info["images"]:
            if img["shown"] and not img["ok"]:
                broken.append(f"{rel}: image did not load: {img['src']}")
        for url in info["links"]:
            target = _target(student, url)
            if target is None:
                continue
            path, fragment = target
            if not (student.folder / path).is_file():
                broken.append(f"{rel}: link to a missing file: {url}")
            elif fragment and path in crawl and fragment not in crawl[path]["ids"]:
                broken.append(f"{rel}: link to a missing anchor: {url}")
    assert not broken, "\n".join(sorted(set(broken))[:40])


SHOWN_JS = """(() => {
  const badge = Array.from(document.querySelectorAll('a[href]'))
      .find(a => a.href === __URL__);
  const notes = Array.from(document.querySelectorAll('.cell_output pre'))
      .filter(p => p.innerText.includes(__NOTE__));
  return {
    badge: !!badge && Array.from(badge.querySelectorAll('img'))
        .some(i => i.naturalWidth > 0),
    notes: notes.map(p => Array.from(p.closest('.cell_output').querySelectorAll('img'))
        .filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().height > 50)
        .length),
    widgets: document.querySelectorAll(
        '.jupyter-widgets, .widget-area, script[type*="jupyter.widget"]').length,
  };
})()"""


def test_tutorial_pages_show_figures_colab_link_and_static_explorer(crawl, sites, page):
    course, student, _ = sites
    for t in course.tutorials():
        rel = f"{t.rel}.html"
        info = crawl[rel]
        figures = [i for i in info["images"] if "/_images/" in i["src"]
                   and i["src"].endswith(".png")]
        # every figure of the page (how many a tutorial needs is test_book.py's business)
        in_html = re.findall(r'<img [^>]*src="[^"]*_images/[0-9a-f]+\.png"',
                             (student.folder / rel).read_text(encoding="utf-8"))
        assert figures and len(figures) == len(in_html), (rel, len(figures), len(in_html))
        assert all(i["ok"] for i in figures), [i["src"] for i in figures if not i["ok"]]
        assert course.colab_url(t) in info["links"], rel
        # never a raw widget repr or an empty box where a widget was
        for raw in RAW_WIDGET:
            assert not any(raw in out for out in info["outputs"]), (rel, raw)
        assert info["empty_outputs"] == 0, (rel, info["empty_outputs"])
        assert STATIC_NOTE in info["text"], rel
        assert "Colab" in STATIC_NOTE
        page.goto(student.url(rel))
        shown = page.js(SHOWN_JS.replace("__URL__", json.dumps(course.colab_url(t)))
                        .replace("__NOTE__", json.dumps(STATIC_NOTE)))
        assert shown["badge"], f"{rel}: the Colab badge is not shown"
        assert shown["notes"] and all(n >= 1 for n in shown["notes"]), (rel, shown)
        assert shown["widgets"] == 0, (rel, shown)


def test_search_page_finds_a_tutorial(sites, page):
    _, student, _ = sites
    page.goto(student.url(f"search.html?q={SEARCH_WORD}"))
    hits = page.wait_for("""(() => {
      const links = Array.from(document.querySelectorAll('#search-results li a'))
          .map(a => a.href);
      return links.length ? links : null; })()""")
    assert hits, f"searching {SEARCH_WORD!r} found nothing"
    assert any(SEARCH_TUTORIAL in h for h in hits), hits
    assert not page.problems(student.origin), page.problems(student.origin)


def test_syllabus_links_every_tutorial(crawl, sites):
    course, student, _ = sites
    links = set(crawl["book/syllabus.html"]["links"])
    missing = [t.id for t in course.tutorials() if student.url(f"{t.rel}.html") not in links]
    assert not missing, f"book/syllabus.md does not link: {missing}"


def _solution_lines(t) -> list[str]:
    lines = []
    for cell in nbformat.read(t.source, 4).cells:
        m = re.search(r"### BEGIN SOLUTION\n(.*?)\n", cell.source)
        if m:
            lines.append(m.group(1).strip())
    return lines


def test_student_site_hides_solutions_instructor_site_shows_them_on_click(sites, page):
    course, student, instructor = sites
    t = next(t for t in course.tutorials() if t.id == SCREENSHOT_TUTORIAL)
    line = _solution_lines(t)[0]
    page.goto(student.url(f"{t.rel}.html"))
    text = page.js("document.body.innerText")
    assert "NotImplementedError" in text and line not in text
    assert page.js("document.querySelectorAll('.tag_hide-input details').length") == 0
    page.goto(instructor.url(f"{t.rel}.html"))
    assert not page.problems(instructor.origin), page.problems(instructor.origin)
    toggle = ("Array.from(document.querySelectorAll('.tag_hide-input details'))"
              f".find(d => d.textContent.includes({json.dumps(line)}))")
    visible = (f"(() => {{ const d = {toggle}; const code = d.querySelector('pre');"
               " return code.getBoundingClientRect().height > 0 && d.innerText.includes("
               f"{json.dumps(line)}); }})()")
    assert page.js(f"!!({toggle})"), "no toggle holds the reference solution"
    assert page.js(visible) is False, "the solution shows before its toggle is clicked"
    page.click(f"({toggle}).querySelector('summary')")
    assert page.js(visible) is True, "clicking the toggle did not show the solution"


def test_screenshots_of_home_and_a_tutorial(sites, page):
    course, student, _ = sites
    t = next(t for t in course.tutorials() if t.id == SCREENSHOT_TUTORIAL)
    shots = student.folder.parent / "screenshots"
    for name, rel in (("home", "index.html"), ("tutorial", f"{t.rel}.html")):
        page.goto(student.url(rel), settle=1.0)  # MathJax typesets after load
        page.screenshot(shots / f"{name}.png")
        assert (shots / f"{name}.png").stat().st_size > 20_000
    # and the tutorial's explorer, as a reader sees it: the static figure and its note
    page.js("Array.from(document.querySelectorAll('.cell_output pre')).find(p => p.innerText"
            f".includes({json.dumps(STATIC_NOTE)})).closest('.cell')"
            ".scrollIntoView({block: 'start'})")
    page.pump(0.5)
    page.screenshot(shots / "tutorial-explorer.png")
    # for people to look at after a run of the suite
    keep = ROOT / "_build" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copyfile(png, keep / png.name)
