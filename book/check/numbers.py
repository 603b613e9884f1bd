#!/usr/bin/env python3
"""Every measured-looking number in the book's prose must come from the generated results.

Reads each chapter's markdown (every `.md` under the book's `src/` except `SUMMARY.md` and the
generated `results/` folder), drops what is not prose (fenced code, `{{#include}}` lines,
inline code, link and image targets, HTML comments, the step number in headings), and
extracts every number written with a decimal point (`38.932`, `0.3.21`) or followed by a unit
(`40 s`, `9.6 GB`, `2x`, `25%`). Each one must appear, as a whole number, in some file under
`src/results/`: the lab's generated tables, plots and raw results, where the tutorials'
published figures are also written out (`tutorial-vs-ours.md`). The timelines' raw event
files (`trace-*.json`) are not sources: thousands of timestamps would match any figure. The unit may differ
(`11.14x` in prose matches `11.14×` in a table; `38.932 seconds` matches `38.932 s`).

    python3 book/check/numbers.py [BOOK_SRC_DIR]
    python3 book/check/numbers.py --self-test

Exit codes: 0 every number is sourced, 1 some are not (each printed with its file and line),
2 the check could not run (no results to compare with).
"""

import os
import re
import sys
import tempfile

from common import summary, walk, write_files

# Units after a number, longest first. `x` and `×` count only when attached to the number
# (`11x`); with a space around them they are multiplication signs (`2000 x 2000`).
UNITS = ["GFLOP/s", "GFLOP", "GB/s", "MB/s", "seconds", "GB", "MB", "kB", "ms", "µs", "ns", "s", "%"]
NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)+|\d+)"  # 38.932, 0.3.21, or an integer
    r"(?:(?P<times>[x×])(?![\w])"  # 11x, 1.75×
    r"|[  ]?(?P<unit>" + "|".join(re.escape(u) for u in UNITS) + r")(?![\w/]))?"
)
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)|\]\[[^\]]*\]|^\s*\[[^\]]+\]:\s*\S+")
COMMENT = re.compile(r"<!--.*?-->", re.S)
HEADING_STEP = re.compile(r"^(#+\s*)(Step\s+\d+|\d+)", re.I)


def prose_lines(text):
    """(line number, prose) for every line of a chapter that is not code or an include."""
    text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or "{{#include" in line:
            continue
        line = HEADING_STEP.sub(r"\1", line)
        line = INLINE_CODE.sub(" ", line)
        line = LINK_TARGET.sub("]", line)
        yield number, line


def claimed_numbers(text):
    """(line, number as written, number) for every number the prose states as a figure."""
    for line_no, line in prose_lines(text):
        for m in NUMBER.finditer(line):
            value = m.group(1)
            if "." in value or m.group("times") or m.group("unit"):
                yield line_no, m.group(0).strip(), value


def sourced(results_text, value):
    """Whether `value` appears as a whole number in the generated results."""
    return re.search(r"(?<![\d.])" + re.escape(value) + r"(?![\d]|\.\d)", results_text) is not None


def is_source(name):
    """Whether a file under `results/` may source a figure: not a raw trace."""
    return not (name.startswith("trace-") and name.endswith(".json"))


def results_text(src):
    parts = []
    for dirpath, name in walk(os.path.join(src, "results")):
        if not is_source(name):
            continue
        with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
    return "\n".join(parts)


def chapters(src):
    results = os.path.join(src, "results")
    for dirpath, name in walk(src, lambda path: path == results):
        if name.endswith(".md") and not (dirpath == src and name == "SUMMARY.md"):
            yield os.path.join(dirpath, name)


def check(src):
    """Return (unsourced numbers as (file, line, text), how many numbers were checked)."""
    known = results_text(src)
    if not known.strip():
        raise SystemExit(f"numbers: error: nothing under {os.path.join(src, 'results')} to compare with")
    missing, checked = [], 0
    for path in chapters(src):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for line, written, value in claimed_numbers(text):
            checked += 1
            if not sourced(known, value):
                missing.append((os.path.relpath(path, src), line, written))
    return missing, checked


SELF_TEST_RESULTS = "| step | Took |\n|---|---:|\n| 01 | 38.932 s |\n| ratio | 11.14× |\n| within 25% | 9.6 GB | 0.3.21 |\n"
SELF_TEST_CHAPTER = """# Step 2: a pool

The loop took 38.932 seconds, the pool 11.14x as long; 9.6 GB were copied, within 25%.
OpenBLAS 0.3.21 and a 2000 x 2000 matrix are fine, so are 100 pairs and [step 7](07-x.md#a-1.5).
Inline code is not prose: `0.125 s`.

```text
Took 12.345 seconds
```

{{#include results/m/steps/77.777.md}}
<!-- a comment: 55.5 s -->

But this figure is made up: 3.2 GB per task.
"""


def self_test():
    """A chapter with sourced numbers, skipped contexts and one planted figure (present only in
    a raw trace): exactly the planted one is reported."""
    with tempfile.TemporaryDirectory(prefix="book-numbers-selftest-") as src:
        write_files(src, {
            "results/m/summary.md": SELF_TEST_RESULTS,
            # a raw trace holding the planted figure does not source it
            "results/m/trace-02-naive-pool.json": '{"events": [{"ts": 3.2}]}\n',
            "chapter.md": SELF_TEST_CHAPTER,
            "SUMMARY.md": "# Summary\n\n- [Step 4.5 at 99.9 s](chapter.md)\n",
        })
        missing, checked = check(src)
    want = [("chapter.md", 14, "3.2 GB")]
    for item in missing:
        print(f"self-test: found {item[0]}:{item[1]}: {item[2]!r}")
    if missing != want:
        print(f"self-test: FAILED: expected exactly {want}, got {missing}")
        return 1
    print(f"self-test: ok, the planted figure was reported and nothing else ({checked} numbers read)")
    return 0


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: numbers.py [BOOK_SRC_DIR] | --self-test", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.abspath(args[0] if args else os.path.join(here, "..", "src"))
    try:
        missing, checked = check(src)
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    return summary(
        "numbers",
        [f"{path}:{line}: {written!r} is not in any file under results/" for path, line, written in missing],
        f"{len(missing)} of {checked} numbers in the prose have no source",
        f"all {checked} numbers in the prose appear in the generated results",
    )


if __name__ == "__main__":
    sys.exit(main())
