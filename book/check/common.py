"""What the book's two checks (check.py, numbers.py) share: walking a folder in a stable
order, writing a self-test's tiny book, and the closing summary."""

import os


def walk(root, skip_dir=lambda path: False):
    """Every file under `root` as (folder, name), folders and names sorted; a folder for which
    `skip_dir(its path)` is true is not entered."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not skip_dir(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            yield dirpath, name


def write_files(root, files):
    """Write `files` ({path relative to root: text}) under `root`, making folders as needed."""
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def summary(prefix, problems, failed, ok):
    """Print each problem line, then `failed` or `ok` after `prefix: `; the exit code."""
    for line in problems:
        print(f"{prefix}: {line}")
    if problems:
        print(f"{prefix}: FAILED, {failed}")
        return 1
    print(f"{prefix}: ok, {ok}")
    return 0
