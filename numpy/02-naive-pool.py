"""Twin of step 02: `Pool()` with Python's defaults; every array is pickled through a pipe."""

import os

from common import matmul_args
from pool import default_chunksize, run

STEP = "02-naive-pool"
ABOUT = "Pool() with default workers; every argument and result is pickled through a pipe"

if __name__ == "__main__":
    args = matmul_args(STEP, ABOUT, pooled=True)
    workers = args.workers or os.cpu_count()  # Pool() starts os.cpu_count() workers
    chunksize = args.chunksize or default_chunksize(args.tasks, workers)
    run(STEP, ABOUT, args, workers, chunksize)
