"""Steps 02-04's twin: a `multiprocessing.Pool` whose every pair and product goes through pipes."""

import math
from multiprocessing import Pool

from common import make_pair, matmul_report, pool_extra, verify_products, worker_blas_threads


def multiply(a, b):
    """One task in a worker: the product, and which worker computed it with how many threads."""
    return a @ b, worker_blas_threads()


def run(step, about, args, workers, chunksize):
    """Create the pairs, multiply them on `Pool(workers)` with `starmap`, verify the products."""
    report = matmul_report(step, about, args)
    pairs = report.phase("create arrays", lambda: [make_pair(t, args.size) for t in range(args.tasks)])
    pool = report.phase("start workers", Pool, workers)
    with pool:
        results = report.phase("compute", pool.starmap, multiply, pairs, chunksize)
        report.took()
    pool.join()
    pool_extra(report, workers, chunksize, [seen for _, seen in results])
    # computed from the shapes, not measured: the bytes of the arrays (two in, one out per task)
    # the pool must pickle through its pipes, as the Rust steps' `copies.array_bytes`
    array_bytes = 3 * args.tasks * args.size**2 * 8
    report.note(f"array bytes the pool must move through pipes (computed): {array_bytes / 2**20:.1f} MiB")
    report.extra("array_bytes_to_move_computed", array_bytes)
    verify_products(report, lambda t: pairs[t], [c for c, _ in results])


def default_chunksize(tasks, workers):
    """What `starmap` picks when not told: ceil(tasks / (4 x workers))."""
    return math.ceil(tasks / (4 * workers))
