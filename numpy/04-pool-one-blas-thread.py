"""Twin of step 04: the tuned pool, with one BLAS thread set before NumPy is imported."""

import os

# the tutorial's line, before NumPy (and its BLAS) is loaded: every worker inherits it
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import math  # noqa: E402

from common import matmul_args, physical_cores  # noqa: E402
from pool import run  # noqa: E402

STEP = "04-pool-one-blas-thread"
ABOUT = "the tuned pool with OMP_NUM_THREADS=1 / OPENBLAS_NUM_THREADS=1 before NumPy loads"

if __name__ == "__main__":
    args = matmul_args(STEP, ABOUT, pooled=True)
    workers = args.workers or physical_cores()
    chunksize = args.chunksize or math.ceil(args.tasks / workers)
    run(STEP, ABOUT, args, workers, chunksize)
