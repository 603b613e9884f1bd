"""Twin of step 05: a thread pool over the pairs (no copies), BLAS at its default and at 1."""

import os
from multiprocessing.pool import ThreadPool

import numpy as np
from threadpoolctl import threadpool_limits

from common import blas_info, fail, make_pair, matmul_args, matmul_report, usage_error, verify_products

STEP = "05-threads"
ABOUT = "a ThreadPool over the pairs, zero copies; BLAS threads default vs 1"

args = matmul_args(STEP, ABOUT, pooled=True)
if args.chunksize is not None:
    usage_error(f"--chunksize does not apply to {STEP}: the thread pool splits the work")
threads = args.workers or os.cpu_count()
default_blas = blas_info()[3]
report = matmul_report(STEP, ABOUT, args)
pairs = report.phase("create arrays", lambda: [make_pair(t, args.size) for t in range(args.tasks)])
variants, settings = [], []
with ThreadPool(threads) as pool:
    for blas, phase in [(default_blas, "compute, BLAS default"), (1, "compute")]:
        report.note(f"{phase}: {threads} threads x {blas} BLAS thread(s)")
        with threadpool_limits(blas, user_api="blas"):
            products = report.phase(phase, pool.starmap, lambda a, b: a @ b, pairs)
        variants.append({"blas_threads": blas, "seconds": report.record["phases"][-1]["seconds"]})
        settings.append(products)
report.took()
# after the clock, as the Rust step: both settings must have computed the same products
if any(not np.array_equal(x, y) for x, y in zip(*settings)):
    fail("the two BLAS settings computed different products")
report.extra("variants", variants)
report.extra("pool_workers", threads)
verify_products(report, lambda t: pairs[t], products)
