"""What the NumPy twins share: flags, the workloads, verification, the checksum and the report.

Each twin in this folder re-tells one Rust step (`examples/<stem>.rs`) the way the tutorial
wrote it in Python. Everything here mirrors the workspace's `workload` crate so that a twin
and its Rust step can be compared number for number: the same matrices (small integers in a
per-task pattern), the same element function, the same checksum of the results, and the same
`--json` record the lab reads.
"""

import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import signal
import sys
import time

import numpy as np
import threadpoolctl

USAGE_EXIT = 2
WRONG_RESULT_EXIT = 1

# ---------------------------------------------------------------------------------------------
# Signals: what the Rust steps do on Ctrl-C, SIGTERM and a closed stdout.
#
# The parent turns SIGINT / SIGTERM into one line, kills its workers, removes the shared memory
# it created, and exits 130 / 143 at once (no atexit, so no queue feeder thread is joined). A
# closed stdout (`| head -1`, SIGPIPE) does the same quietly with exit 141, as the Rust steps.
# Every forked worker ignores SIGINT (its parent decides), dies by SIGTERM, and is killed by the
# kernel when its parent dies, so none outlives the run.

_cleanups = []  # what the parent must undo when interrupted, e.g. `SharedMemory.unlink`
_parent = {"pid": os.getpid()}
_PR_SET_PDEATHSIG = 1


def on_interrupt(cleanup):
    """Call `cleanup()` (e.g. a shared memory's `unlink`) if the run is interrupted."""
    _cleanups.append(cleanup)


def unlink_on_interrupt(segment):
    """Remove shared memory `segment` if the run is interrupted.

    Not `segment.unlink()`: the signal may arrive while this thread holds the resource
    tracker's lock (creating the segment), and that call would wait on it forever.
    """

    def unlink():
        from multiprocessing import resource_tracker
        import _posixshmem

        _posixshmem.shm_unlink(segment._name)
        lock = getattr(resource_tracker._resource_tracker, "_lock", None)
        if lock is None or not lock._is_owned():
            resource_tracker.unregister(segment._name, "shared_memory")

    on_interrupt(unlink)


def _interrupted(signum, _frame):
    if os.getpid() != _parent["pid"]:  # a worker: the parent ends it
        if signum == signal.SIGTERM:
            os._exit(128 + signum)
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join(1.0)
    for pid in _forked_but_unlisted():
        os.kill(pid, signal.SIGKILL)
    if signum != signal.SIGPIPE:  # a closed stdout ends the run quietly, as in Rust
        name = "interrupted" if signum == signal.SIGINT else "terminated"
        os.write(2, f"error: {name} by {signal.Signals(signum).name}\n".encode())
    # last, so that no worker a pool starts meanwhile finds its shared memory gone
    for cleanup in _cleanups:
        try:
            cleanup()
        except Exception:  # already removed: nothing left behind either way
            pass
    os._exit(128 + signum)


def _forked_but_unlisted():
    """Children of this process that multiprocessing does not list yet (a signal between
    `fork` and `Process.start` recording it), found in /proc."""
    from multiprocessing import resource_tracker  # its own child: it must outlive us to unregister

    me, found, tracker = os.getpid(), [], getattr(resource_tracker._resource_tracker, "_pid", None)
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] != "Z" and int(entry) != tracker:
                found.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return found


def _before_fork():
    _parent["fork_from"] = os.getpid()


def _in_worker():
    """In a forked worker: ignore Ctrl-C, die by SIGTERM and with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # Python's default: a closed pipe is an error
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != _parent.get("fork_from"):  # the parent died before prctl
        os._exit(1)


if os.getpid() == _parent["pid"] and multiprocessing.parent_process() is None:
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGPIPE, _interrupted)
    os.register_at_fork(before=_before_fork, after_in_child=_in_worker)

# ---------------------------------------------------------------------------------------------
# Flags: the Rust steps' flags, one-line errors and exit code 2 for misuse.


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        usage_error(f"{message} (see --help)")


def usage_error(message):
    """Print `error: <message>` on one line and exit 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(USAGE_EXIT)


def fail(message):
    """Print `error: <message>` on one line and exit 1: the run itself failed."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def _whole(low, high=None):
    def parse(text):
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {text}")
        return value

    return parse


def matmul_args(step, about, pooled):
    """`--size --tasks --workers --chunksize --json`, as the Rust matrix steps take them."""
    p = _Parser(prog=step, description=about)
    p.add_argument("--size", type=_whole(1), default=2000, metavar="N")
    p.add_argument("--tasks", type=_whole(1), default=100, metavar="COUNT")
    p.add_argument("--workers", type=_whole(1), metavar="COUNT")
    p.add_argument("--chunksize", type=_whole(1), metavar="COUNT")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if not pooled:
        for flag in ("workers", "chunksize"):
            if getattr(args, flag) is not None:
                usage_error(f"--{flag} does not apply to {step}: it runs no workers")
    check_memory(3 * args.tasks * args.size**2 * 8, f"{args.tasks} pairs of {args.size}x{args.size}")
    return args


MAX_WORK = 1_000_000_000
MAX_WORKERS = 1024


def populate_args(step, about, pooled, bytes_per_element=8):
    """`--len --work --workers --json`, as the Rust population steps take them."""
    p = _Parser(prog=step, description=about)
    p.add_argument("--len", type=_whole(1), default=1_000_000, metavar="N")
    p.add_argument("--work", type=_whole(1, MAX_WORK), default=1, metavar="ROUNDS")
    p.add_argument("--workers", type=_whole(1, MAX_WORKERS), metavar="COUNT")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.workers is not None and not pooled:
        usage_error(f"--workers does not apply to {step}: it runs no workers")
    check_memory(args.len * bytes_per_element, f"an array of {args.len} f64")
    return args


def check_memory(needed, what):
    """Refuse, in one line, a workload larger than the memory available."""
    available = _meminfo("MemAvailable:")
    if available is not None and needed > available:
        usage_error(f"{what} need {needed / 2**30:.1f} GiB; {available / 2**30:.1f} GiB available")


def _meminfo(key):
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def physical_cores():
    """Distinct (package, core) pairs in /proc/cpuinfo; the logical count when unknown."""
    cores, package = set(), None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "physical id":
                    package = value.strip()
                elif key.strip() == "core id":
                    cores.add((package, value.strip()))
    except OSError:
        pass
    return len(cores) or os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# The matrix workload: the same pattern as the Rust `workload::matmul::make_pair`.


def _patterned(n, offset, row_step, col_step, out):
    """Entry (i, j) = ((offset + row_step*i + col_step*j) mod 9) - 4, written into `out`."""
    rows = (np.arange(9)[:, None] + col_step * np.arange(n)[None, :]) % 9 - 4.0
    out[...] = rows[(offset + row_step * np.arange(n)) % 9]


def make_pair(task, n, a=None, b=None):
    """The pair of task `task` (into `a` and `b` when given, e.g. views of shared memory)."""
    a = np.empty((n, n)) if a is None else a
    b = np.empty((n, n)) if b is None else b
    _patterned(n, 5 * task, 3, 4, a)
    _patterned(n, 7 * task + 2, 2, 7, b)
    return a, b


def freivalds(a, b, c, task, rounds=2):
    """C x == A (B x) for random integer vectors x: exact, as every entry is a small integer."""
    rng = np.random.default_rng(task)
    for _ in range(rounds):
        x = rng.integers(-1000, 1001, size=b.shape[1]).astype(np.float64)
        if c.shape != (a.shape[0], b.shape[1]) or not np.array_equal(c @ x, a @ (b @ x)):
            return False
    return True


def verify_products(report, pair, products):
    """Verify every product (`pair(task)` gives its inputs), hash them, and finish the report."""
    start = time.perf_counter()
    wrong = [t for t, c in enumerate(products) if not freivalds(*pair(t), c, t)]
    report.add_phase("verify", time.perf_counter() - start)
    method = "Freivalds' check C·x = A·(B·x), 2 random vectors per product"
    report.verdict(wrong, len(products), "tasks", method, checksum(products))
    report.finish()


# ---------------------------------------------------------------------------------------------
# The population workload: the same element function as the Rust `workload::populate::element`.

_MASK = (1 << 53) - 1
_MUL = 0x5851_F42D_4C95_7F2D
_INC = 0x1405_7B7E_F767_814F


def element(i, work):
    """Element `i` after `work` rounds: `i * base**2`, then `x = (a x + c) mod 2**53`."""
    x = (i * 4) & _MASK
    for _ in range(1, work):
        x = (x * _MUL + _INC) & _MASK
    return float(x)


def elements(indices, work):
    """`element` at many indices at once (uint64 arithmetic wraps, as Rust's does)."""
    x = (np.asarray(indices, dtype=np.uint64) * np.uint64(4)) & np.uint64(_MASK)
    for _ in range(1, work):
        x = (x * np.uint64(_MUL) + np.uint64(_INC)) & np.uint64(_MASK)
    return x.astype(np.float64)


def slices(length, parts):
    """`0..length` in at most `parts` consecutive slices differing by at most one element."""
    parts = max(1, min(parts, length))
    size, extra = divmod(length, parts)
    bounds, start = [], 0
    for p in range(parts):
        end = start + size + (p < extra)
        bounds.append((start, end))
        start = end
    return bounds


def verify_array(report, array, length, work, edges):
    """Check every element (or, when that costs too much, sampled ones), hash, and finish."""
    start = time.perf_counter()
    if length * work <= 1 << 25:
        indices, method = np.arange(length), "every element equals the element function"
    else:
        ends = [i for s, e in edges for i in (s, e - 1)]
        spaced = [k * length // 512 for k in range(512)]
        rng = np.random.default_rng(0).integers(0, length, size=512)
        indices = np.unique(np.array([0, length - 1, *ends, *spaced, *rng]))
        method = f"sampled elements (first, last, the ends of {len(edges)} slices, 512 evenly spaced, 512 random) equal the element function"
    expected = elements(indices, work)
    inside = indices[indices < len(array)]  # sorted, so a prefix of `indices`
    wrong = inside[array[inside] != expected[: len(inside)]].tolist()
    wrong += indices[len(inside):].tolist()  # missing elements
    if len(array) > length:
        wrong.append(length)
    report.add_phase("verify", time.perf_counter() - start)
    report.verdict(wrong, len(indices), "indices", method, checksum([array]))
    report.finish()


# ---------------------------------------------------------------------------------------------
# The checksum: the Rust `workload::checksum` (FNV-1a over shape words and f64 bits, in order).

HASH_LIMIT = 1 << 22  # words; Python hashes about a million a second


def checksum(arrays):
    """16 hex digits, equal to the Rust steps' checksum of the same arrays in the same order.

    FNV-1a is sequential word by word, which NumPy cannot vectorise; above `HASH_LIMIT` words
    the hash would take longer than the run, so it is left empty (the lab then compares none).
    """
    if sum(a.size + a.ndim for a in arrays) > HASH_LIMIT:
        return ""
    h, prime, mask = 0xCBF2_9CE4_8422_2325, 0x0100_0000_01B3, (1 << 64) - 1
    for a in arrays:
        words = list(a.shape) + np.ascontiguousarray(a, dtype=np.float64).view(np.uint64).ravel().tolist()
        for w in words:
            h = ((h ^ w) * prime) & mask
    return f"{h:016x}"


# ---------------------------------------------------------------------------------------------
# The report: what the Rust steps print, and the same JSON record.


def blas_info():
    """NumPy's BLAS as threadpoolctl sees it: (config, threading layer, kernels, threads)."""
    for pool in threadpoolctl.threadpool_info():
        if pool.get("user_api") == "blas":
            config = f"{pool.get('internal_api', 'BLAS')} {pool.get('version') or ''}".strip()
            return config, pool.get("threading_layer", "unknown"), pool.get("architecture") or "unknown", pool.get("num_threads", 1)
    return "unknown BLAS", "unknown", "unknown", 1


def machine():
    """The `machine` part of the record, with NumPy's BLAS."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    config, threading, core, threads = blas_info()
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count() or 1,
        "physical_cores": physical_cores(),
        "memory_bytes": _meminfo("MemTotal:"),
        "blas_config": f"{config} (NumPy {np.__version__})",
        "blas_threading": threading,
        "blas_core": core,
        "blas_threads": threads,
    }


class Report:
    """Prints what a Rust step prints and builds the same `--json` record."""

    def __init__(self, step, about, json_line, params, description):
        m = machine()
        print(f"{step} (NumPy twin): {about}")
        print(f"machine: {m['cpu']}, {m['logical_cores']} logical / {m['physical_cores']} physical cores"
              f" | {m['blas_config']} ({m['blas_threading']}, {m['blas_core']} kernels), {m['blas_threads']} BLAS threads")
        print(f"workload: {description}")
        self.json = json_line
        self.record = {
            "step": step, "params": params, "machine": m, "phases": [], "took_seconds": 0.0,
            "copies": None, "verified": False, "checksum": "",
            "extra": {"twin": "numpy", "numpy": np.__version__, "python": platform.python_version()},
        }
        self.start = time.perf_counter()

    def phase(self, name, f, *args):
        """Call `f(*args)` as a timed phase."""
        t = time.perf_counter()
        out = f(*args)
        self.add_phase(name, time.perf_counter() - t)
        return out

    def add_phase(self, name, seconds):
        print(f"  {name:<22} {seconds:>9.3} s")
        phase = {"name": name, "seconds": seconds}
        if self.record["took_seconds"]:
            phase["outside_took"] = True  # after the clock stopped (verify)
        self.record["phases"].append(phase)

    def note(self, text):
        print(f"  {text}")

    def extra(self, key, value):
        self.record["extra"][key] = value

    def took(self):
        """Stop the clock and print the tutorial's closing line."""
        self.record["took_seconds"] = time.perf_counter() - self.start
        print(f"Took {self.record['took_seconds']:.3f} seconds")

    def verdict(self, wrong, checked, unit, method, digest):
        self.record["verified"] = not wrong
        self.record["checksum"] = digest
        shown = "" if not wrong else f"WRONG: {len(wrong)} of {checked} failed {method} ({unit} {', '.join(map(str, wrong[:8]))})"
        print(f"verified: {shown or f'OK: {method} ({checked} checked)'} [checksum {digest or 'not computed: too many values to hash in Python'}]")

    def finish(self):
        """Print the JSON line when asked for; exit 1 when a result was wrong."""
        if self.json:
            print(json.dumps(self.record))
        sys.stdout.flush()
        if not self.record["verified"]:
            fail(f"{self.record['step']} (NumPy twin) produced a wrong result")


def matmul_report(step, about, args):
    """The report of a matrix step, with its workload line."""
    n, tasks = args.size, args.tasks
    description = (f"{tasks} pairs of {n}x{n} matrices ({n * n * 8 / 2**20:.1f} MiB each), "
                   f"{tasks * 2 * n**3 / 1e9:.1f} GFLOP")
    return Report(step, about, args.json, {"size": n, "tasks": tasks}, description)


def populate_report(step, about, args, workers):
    """The report of a population step, with its workload line."""
    description = f"an array of {args.len} f64, {args.work} round(s) per element, {workers} worker(s)"
    params = {"len": args.len, "work": args.work, "workers": workers}
    return Report(step, about, args.json, params, description)


_worker_threads = None


def worker_blas_threads():
    """(pid, BLAS threads) of this worker process, read once from threadpoolctl."""
    global _worker_threads
    if _worker_threads is None:
        _worker_threads = blas_info()[3]
    return os.getpid(), _worker_threads


def pool_extra(report, workers, chunksize, seen):
    """Record the pool's size, chunksize and the BLAS threads each worker reported."""
    per_worker = {}
    for pid, threads in seen:
        per_worker.setdefault(pid, set()).add(threads)
    flat = [max(t) for t in per_worker.values()]
    report.note(f"pool: {workers} workers, chunksize {chunksize}; BLAS threads reported by the workers: {flat}")
    report.extra("pool_workers", workers)
    report.extra("chunksize", chunksize)
    report.extra("worker_blas_threads", flat)
