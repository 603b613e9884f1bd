#!/usr/bin/env python3
"""Open every page of the built book in headless Chromium and fail on what a reader would see
broken: an image, plot or embedded object that did not load, a raw `{{#include` or anchor
marker left in the text, a link inside the book that leads nowhere (a missing page, or a
missing `#fragment` on a page of the book), a page that did not load at all, or a calculator
("When parallelism pays") whose answers differ from the cost model's: the check types every
case of the `calculator-check.json` the lab wrote beside the calibration the calculator uses
into its fields and compares each predicted time and the verdict with the model's, and types
every input the model refuses (negative, fractional cores, empty, non-numeric, NaN, infinite,
overflowing): the calculator must refuse it too, with the model's reason, no time and no
verdict.

Only the Python standard library is used: a static server on 127.0.0.1 serves the book, and
Debian's chromedriver is driven through its W3C WebDriver HTTP interface.

    python3 book/check/check.py [BOOK_HTML_DIR] [--screenshots DIR] [--shot PAGE ...]
    python3 book/check/check.py --self-test

Exit codes: 0 every page clean, 1 something is broken (each problem printed on one line),
2 the check itself could not run (no browser, no built book).
"""

import argparse
import base64
import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from common import summary, walk, write_files

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1280,1000",
]

# A raw preprocessor directive or an anchor marker that leaked into the rendered text.
RAW_MARKER = re.compile(r"\{\{#|ANCHOR(?:_END)?:")

# Everything the browser can tell about one page, gathered after it has loaded.
PAGE_PROBE = r"""
const main = document.querySelector('main') || document.body;
const imgs = Array.from(document.images).map(i => ({
  src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}));
const objects = Array.from(document.querySelectorAll('object[data], embed[src]')).map(o => ({
  src: o.data || o.src}));
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
const empty = Array.from(main.querySelectorAll('pre code')).filter(c => {
  const copy = c.cloneNode(true);
  copy.querySelectorAll('.boring').forEach(b => b.remove());
  return copy.textContent.trim() === '';
}).length;
const ids = Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name);
return {url: location.href, title: document.title, text: main.textContent,
        imgs: imgs, objects: objects, links: links, ids: ids, empty: empty};
"""

# Wait (bounded) until every image has either loaded or failed.
IMAGES_SETTLED = "return Array.from(document.images).every(i => i.complete);"


# The calibration each calculator on the page computes with (null when it found none).
CALCULATORS = (
    "return Array.from(document.querySelectorAll('.lab-calculator'))"
    ".map(d => d.getAttribute('data-using'));"
)
CALCULATOR_INPUT = (
    "return document.querySelectorAll('.lab-calculator')[arguments[0]]"
    ".querySelector('input[name=' + arguments[1] + ']');"
)
CALCULATOR_OUTPUT = (
    "const d = document.querySelectorAll('.lab-calculator')[arguments[0]];"
    "const out = {};"
    "d.querySelectorAll('[data-approach]').forEach(c => {"
    "  const s = c.getAttribute('data-seconds');"
    "  out[c.getAttribute('data-approach')] = s === null ? null : parseFloat(s); });"
    "return out;"
)
# What the calculator concluded: its verdict (text and the approach's key) and its refusal.
CALCULATOR_STATE = (
    "const d = document.querySelectorAll('.lab-calculator')[arguments[0]];"
    "const v = d.querySelector('.lab-calculator-verdict');"
    "const e = d.querySelector('.lab-calculator-error');"
    "return {verdict: v ? v.textContent.trim() : '', best: v ? v.getAttribute('data-best') : null,"
    "        error: e ? e.textContent.trim() : ''};"
)
# How close the page's answer must be to the model's (the inputs are typed as decimals).
CALCULATOR_TOLERANCE = 1e-9
# Cases typed into calculators during this check (reported in the closing line).
calculator_cases = [0]


class Problem(Exception):
    """The check could not run at all (exit 2)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book and remembers the status of every request the browser made."""

    statuses = None  # path -> status, shared per server

    def log_message(self, *args):
        pass

    def send_response(self, code, message=None):
        self.statuses[urllib.parse.urlsplit(self.path).path] = code
        super().send_response(code, message)


def serve(root):
    handler = type("Handler", (QuietHandler,), {"statuses": {}})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=root)
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler.statuses


class Browser:
    """A minimal W3C WebDriver client for chromedriver: just what the check needs."""

    def __init__(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        driver = shutil.which("chromedriver")
        if not chromium or not driver:
            raise Problem(
                "chromium and chromedriver are needed: apt-get install -y chromium chromium-driver"
            )
        self.profile = tempfile.mkdtemp(prefix="book-check-profile-")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.driver = subprocess.Popen(
            [driver, f"--port={port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.session = None
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if self._call("GET", "/status")["value"].get("ready"):
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or self.driver.poll() is not None:
                    raise Problem("chromedriver did not start")
                time.sleep(0.1)
            caps = {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": CHROMIUM_FLAGS + [f"--user-data-dir={self.profile}"],
                },
                "pageLoadStrategy": "normal",
                "timeouts": {"pageLoad": 30000, "script": 30000},
            }
            reply = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
            self.session = reply["value"]["sessionId"]
        except BaseException:
            self.close()
            raise

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as reply:
                return json.load(reply)
        except urllib.error.HTTPError as err:
            detail = json.load(err).get("value", {})
            raise Problem(f"webdriver {method} {path}: {detail.get('message', err)}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)["value"]

    def goto(self, url):
        self.cmd("POST", "/url", {"url": url})

    def run(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def element(self, script, *args):
        """The WebDriver id of the element a script returns, or None."""
        found = self.run(script, *args)
        return next(iter(found.values())) if isinstance(found, dict) and found else None

    def type_into(self, element, text):
        self.cmd("POST", f"/element/{element}/clear", {})
        if text:  # an empty field is left cleared
            self.cmd("POST", f"/element/{element}/value", {"text": text})

    def screenshot(self, path):
        with open(path, "wb") as out:
            out.write(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self):
        if self.session:
            try:
                self._call("DELETE", f"/session/{self.session}")
            except (OSError, Problem):
                pass
        self.driver.terminate()
        try:
            self.driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
            self.driver.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def book_pages(root):
    """Every HTML page the build wrote, relative to the book's root, in a stable order."""
    skip = lambda path: os.path.basename(path) in ("fonts", "FontAwesome", "css")
    return [
        os.path.relpath(os.path.join(dirpath, name), root)
        for dirpath, name in walk(root, skip)
        if name.endswith(".html")
    ]


def check_book(root, screenshots=None, shots=()):
    """Visit every page; return a list of (page, kind, detail) problems."""
    if not os.path.isfile(os.path.join(root, "index.html")):
        raise Problem(f"no built book at {root} (run: mdbook build book)")
    server, statuses = serve(root)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    problems = []
    seen = {}  # path -> set of ids on the page
    links = []  # (page, href)
    browser = Browser()
    try:
        for page in book_pages(root):
            url = f"{origin}/{page}"
            statuses.clear()
            browser.goto(url)
            deadline = time.monotonic() + 10
            while not browser.run(IMAGES_SETTLED) and time.monotonic() < deadline:
                time.sleep(0.05)
            info = browser.run(PAGE_PROBE)
            seen["/" + page] = set(info["ids"])
            if statuses.get("/" + page) != 200:
                problems.append((page, "page", f"HTTP {statuses.get('/' + page)}"))
            for img in info["imgs"]:
                if not img["complete"] or img["width"] == 0:
                    problems.append((page, "image", f"did not load: {img['src']}"))
            for obj in info["objects"]:
                path = urllib.parse.urlsplit(obj["src"]).path
                if statuses.get(path) != 200:
                    problems.append((page, "object", f"did not load: {obj['src']}"))
            for path, code in sorted(statuses.items()):
                if code >= 400 and not path.endswith("favicon.ico"):
                    problems.append((page, "resource", f"HTTP {code}: {path}"))
            for match in sorted(set(RAW_MARKER.findall(info["text"]))):
                at = info["text"].find(match)
                context = " ".join(info["text"][at : at + 60].split())
                problems.append((page, "raw marker", f"shows {context!r}"))
            if info["empty"]:
                problems.append((page, "empty code", f"{info['empty']} listing(s) with no code (an anchor that matched nothing?)"))
            links += [(page, href) for href in info["links"]]
            problems += check_calculators(browser, page, root)
            stem = os.path.splitext(page)[0]
            if screenshots and stem in shots:
                problems += screenshot(browser, page, os.path.join(screenshots, stem + ".png"))
        problems += check_links(links, seen, origin, root)
        if screenshots:
            problems += [(s + ".html", "screenshot", "no such page")
                         for s in shots if "/" + s + ".html" not in seen]
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    return list(dict.fromkeys(problems))  # an image zoom wrapper repeats each <img>


def type_case(browser, index, typed, multithreaded):
    """Type a case's fields into a calculator and set its checkbox; the fields it lacks."""
    missing = []
    for name, text in typed.items():
        element = browser.element(CALCULATOR_INPUT, index, name)
        if element is None:
            missing.append(name)
            continue
        browser.type_into(element, text)
    box = browser.element(CALCULATOR_INPUT, index, "multithreaded")
    if box is not None and browser.cmd("GET", f"/element/{box}/selected") != multithreaded:
        browser.cmd("POST", f"/element/{box}/click", {})
    return missing


def check_calculators(browser, page, root):
    """Type every case of the model's fixture into every calculator on the page: for a case
    the model answers, each of its four predicted times and its verdict must equal the
    model's; for a case the model refuses (`"invalid": true`), the page must show no time, no
    verdict, and the model's reason."""
    problems = []
    here = os.path.dirname(os.path.join(root, page))
    for index, using in enumerate(browser.run(CALCULATORS)):
        where = f"calculator {index + 1}"
        if not using:
            problems.append((page, "calculator", f"{where} found no calibration to compute with"))
            continue
        fixture = os.path.join(here, os.path.dirname(using), "calculator-check.json")
        try:
            with open(fixture) as f:
                cases = json.load(f)
        except (OSError, ValueError) as err:
            problems.append((page, "calculator", f"{where}: no model fixture beside {using}: {err}"))
            continue
        answered = [c for c in cases if not c.get("invalid")]
        refused = [c for c in cases if c.get("invalid")]
        if not answered or not refused:
            problems.append((page, "calculator", f"{where}: the model fixture beside {using} has "
                             f"{len(answered)} answered and {len(refused)} refused cases, needs both "
                             "(written by an older lab? run: lab render RESULTS_JSON)"))
        for number, case in enumerate(answered, 1):
            calculator_cases[0] += 1
            x = case["inputs"]
            typed = {
                "element_ns": repr(x["element_seconds"] * 1e9),
                "len": repr(x["len"]),
                "bytes_per_task": repr(x["bytes_per_task"]),
                "cores": repr(x["cores"]),
            }
            said = f"{where}, case {number} ({', '.join(f'{k} {v}' for k, v in typed.items())})"
            for name in type_case(browser, index, typed, x["multithreaded"]):
                problems.append((page, "calculator", f"{where} has no field {name}"))
            got = browser.run(CALCULATOR_OUTPUT, index)
            for approach, want in case["expect"].items():
                have = got.get(approach)
                if want is None:
                    if have is not None:
                        problems.append((page, "calculator", f"{said}: {approach} {have} s, the model predicts nothing (a constant was not measured)"))
                elif have is None or abs(have - want) > CALCULATOR_TOLERANCE * max(abs(want), 1e-12):
                    problems.append((page, "calculator", f"{said}: {approach} {have} s, the model says {want} s"))
            state = browser.run(CALCULATOR_STATE, index)
            if state["best"] != case.get("best") or not state["verdict"]:
                problems.append((page, "calculator", f"{said}: verdict {state['verdict']!r} ({state['best']}), the model's fastest is {case.get('best')}"))
            if state["error"]:
                problems.append((page, "calculator", f"{said}: refuses input the model answers: {state['error']!r}"))
        for number, case in enumerate(refused, 1):
            calculator_cases[0] += 1
            typed = {k: case["typed"][k] for k in ("element_ns", "len", "bytes_per_task", "cores")}
            said = f"{where}, refused case {number} ({', '.join(f'{k} {v!r}' for k, v in typed.items())})"
            for name in type_case(browser, index, typed, case["typed"]["multithreaded"]):
                problems.append((page, "calculator", f"{where} has no field {name}"))
            got = browser.run(CALCULATOR_OUTPUT, index)
            state = browser.run(CALCULATOR_STATE, index)
            shown = {a: t for a, t in got.items() if t is not None}
            if state["verdict"] or state["best"]:
                problems.append((page, "calculator", f"{said}: shows a verdict {state['verdict']!r} for input the model refuses ({case['why']})"))
            if shown:
                problems.append((page, "calculator", f"{said}: shows times {shown} for input the model refuses ({case['why']})"))
            if case["why"] not in state["error"]:
                problems.append((page, "calculator", f"{said}: says {state['error']!r}, the model refuses it with {case['why']!r}"))
    return problems


def screenshot(browser, page, path):
    """Scroll the first image (the chapter's plot) to the middle of the window and shoot."""
    placed = browser.run(
        "const i = Array.from(document.querySelectorAll('main img')).find(e => e.offsetWidth > 0);"
        "if (!i) return null;"
        "i.scrollIntoView({block: 'center'});"
        "const r = i.getBoundingClientRect();"
        "return {w: i.naturalWidth, top: r.top, bottom: r.bottom, h: window.innerHeight};"
    )
    time.sleep(0.2)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    browser.screenshot(path)
    print(f"check: screenshot {path}")
    if not placed:
        return [(page, "screenshot", "no image on the page to show")]
    if placed["w"] == 0 or placed["bottom"] < 0 or placed["top"] > placed["h"]:
        return [(page, "screenshot", "the image is not rendered in view")]
    return []


def check_links(links, seen, origin, root):
    """Same-origin links must reach a file of the book, and a fragment an id on that page."""
    problems = []
    for page, href in sorted(set(links)):
        if not href.startswith(origin + "/"):
            continue
        parts = urllib.parse.urlsplit(href)
        path = urllib.parse.unquote(parts.path)
        target = path + "index.html" if path.endswith("/") else path
        if not os.path.isfile(os.path.join(root, target.lstrip("/"))):
            problems.append((page, "link", f"broken: {path}"))
        elif parts.fragment and target in seen and page != "404.html":
            # 404.html resolves its own heading links against the site root: not the book's.
            if urllib.parse.unquote(parts.fragment) not in seen[target]:
                problems.append((page, "link", f"no #{parts.fragment} on {target}"))
    return problems


SELF_TEST_PAGES = {
    "good.md": "# Good\n\n![plot](plot.svg)\n\n```rust,ignore\n{{#include ../code.rs:compute}}\n```\n\nSee [the marker page](raw.md) and [a heading](good.md#good).\n",
    "missing-image.md": "# Missing image\n\n![plot](no-such-plot.svg)\n",
    "raw.md": "# Raw marker\n\n```rust\n\\{{#include ../code.rs:compute}}\n```\n",
    "anchor.md": "# Anchor leak\n\n```rust\n{{#include ../code.rs}}\n```\n",
    "missing-anchor.md": "# Missing anchor\n\n```rust,ignore\n{{#include ../code.rs:no_such_anchor}}\n```\n",
    "broken-link.md": "# Broken link\n\nSee [nowhere](nowhere.md) and [a lost heading](good.md#no-such-heading).\n",
}
CALCULATOR_PAGE = (
    "# {title}\n\n<div class=\"lab-calculator\" data-calibration=\"cal/calibration.js\"></div>\n"
    "<script src=\"cal/calibration.js\"></script>\n<script src=\"{script}\"></script>\n"
)
SELF_TEST_PAGES["calculator.md"] = CALCULATOR_PAGE.format(title="Calculator", script="calculator.js")
SELF_TEST_PAGES["broken-calculator.md"] = CALCULATOR_PAGE.format(
    title="Broken calculator", script="calculator-broken.js")
SELF_TEST_PAGES["lenient-calculator.md"] = CALCULATOR_PAGE.format(
    title="Lenient calculator", script="calculator-lenient.js")
# The planted defect: the pool's pipe term computed at memcpy bandwidth.
CALCULATOR_BREAK = ("bytes / k.pipe_bytes_per_second", "bytes / k.memcpy_bytes_per_second")
# The other: every field's number accepted, negative, fractional or NaN, as the first
# calculator did (a verdict for cores = -4).
CALCULATOR_LENIENT = (
    "if (isFinite(v) && v >= least && (!whole || Math.floor(v) === v)) return { value: v };",
    "return { value: v };",
)
# What each planted calculator defect must be reported as.
SELF_TEST_CALCULATOR = {
    "broken-calculator.html": "the model says",
    "lenient-calculator.html": "shows a verdict",
}

SELF_TEST_EXPECT = {
    ("broken-calculator.html", "calculator"),
    ("lenient-calculator.html", "calculator"),
    ("missing-image.html", "image"),
    ("raw.html", "raw marker"),
    ("anchor.html", "raw marker"),
    ("missing-anchor.html", "empty code"),
    ("broken-link.html", "link"),
}
SELF_TEST_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60">'
    '<rect width="120" height="60" fill="steelblue"/></svg>\n'
)


def self_test(mdbook):
    """Build a tiny book with one clean page and one defect per page; the check must report
    every defect on its page, both broken links, and nothing on the clean page."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    reference = os.path.join(src, "results", "reference-2c")
    try:
        calculator = open(os.path.join(src, "calculator.js")).read()
        calibration = open(os.path.join(reference, "calibration.js")).read()
        fixture = open(os.path.join(reference, "calculator-check.json")).read()
    except OSError as err:
        raise Problem(f"self-test: the calculator or the reference calibration is missing: {err}")
    for old, _ in (CALCULATOR_BREAK, CALCULATOR_LENIENT):
        if old not in calculator:
            raise Problem(f"self-test: calculator.js no longer has the line the self-test breaks: {old}")
    with tempfile.TemporaryDirectory(prefix="book-check-selftest-") as tmp:
        write_files(tmp, {
            "src/calculator.js": calculator,
            "src/calculator-broken.js": calculator.replace(*CALCULATOR_BREAK),
            "src/calculator-lenient.js": calculator.replace(*CALCULATOR_LENIENT),
            "src/cal/calibration.js": calibration,
            "src/cal/calculator-check.json": fixture,
            "book.toml": '[book]\ntitle = "self-test"\n\n[output.html]\nno-section-label = true\n',
            "code.rs": "fn main() {\n    // ANCHOR: compute\n    let x = 1;\n    // ANCHOR_END: compute\n}\n",
            "src/plot.svg": SELF_TEST_SVG,
            "src/SUMMARY.md": "# Summary\n\n" + "".join(f"- [{name}]({name})\n" for name in SELF_TEST_PAGES),
            **{f"src/{name}": text for name, text in SELF_TEST_PAGES.items()},
        })
        build = subprocess.run([mdbook, "build", tmp], capture_output=True, text=True)
        if build.returncode != 0:
            raise Problem(f"self-test: mdbook build failed: {build.stderr.strip()}")
        problems = check_book(os.path.join(tmp, "book"))
    found = {(page, kind) for page, kind, _ in problems}
    failures = [f"not reported: {kind} on {page}" for page, kind in sorted(SELF_TEST_EXPECT - found)]
    details = {d for _, kind, d in problems if kind == "link"}
    for want in ("broken: /nowhere.html", "no #no-such-heading on /good.html"):
        if want not in details:
            failures.append(f"not reported: link {want}")
    for page, want in SELF_TEST_CALCULATOR.items():
        if not any(p == page and want in d for p, kind, d in problems if kind == "calculator"):
            failures.append(f"not reported: calculator on {page} ({want})")
    failures += [f"false alarm on {page}: {d}" for page, _, d in problems
                 if page in ("good.html", "calculator.html")]
    for page, kind, detail in problems:
        print(f"self-test: found {page}: {kind}: {detail}")
    if failures:
        for line in failures:
            print(f"self-test: FAILED: {line}")
        return 1
    print(f"self-test: ok, every planted defect was reported ({len(problems)} problems, none on the clean page)")
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("book", nargs="?", default=os.path.join(here, "..", "book"),
                        help="the built book (default: book/book)")
    parser.add_argument("--screenshots", default=os.path.join(here, "screenshots"),
                        help="where screenshots go (default: book/check/screenshots)")
    parser.add_argument("--shot", action="append", default=None,
                        help="page stem to screenshot, plot in view (default: introduction, 02-naive-pool)")
    parser.add_argument("--self-test", action="store_true",
                        help="prove the check fails on a book with planted defects")
    parser.add_argument("--mdbook", default=shutil.which("mdbook") or "mdbook")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        if args.self_test:
            return self_test(args.mdbook)
        shots = args.shot or ["introduction", "02-naive-pool"]
        root = os.path.abspath(args.book)
        problems = check_book(root, os.path.abspath(args.screenshots), shots)
        pages = len(book_pages(root))
    except Problem as err:
        print(f"check: error: {err}", file=sys.stderr)
        return 2
    took = time.monotonic() - started
    return summary(
        "check",
        [f"{page}: {kind}: {detail}" for page, kind, detail in problems],
        f"{len(problems)} problems on {pages} pages ({took:.1f} s)",
        f"{pages} pages, every image loaded, no raw marker, every link inside the book resolves, "
        f"{calculator_cases[0]} calculator cases typed agree with the model ({took:.1f} s)",
    )


if __name__ == "__main__":
    sys.exit(main())
