"""Twin of step 03: `Pool(physical cores)` with one chunk of tasks per worker."""

import math

from common import matmul_args, physical_cores
from pool import run

STEP = "03-tuned-pool"
ABOUT = "Pool(physical cores), chunksize = tasks / workers"

if __name__ == "__main__":
    args = matmul_args(STEP, ABOUT, pooled=True)
    workers = args.workers or physical_cores()
    chunksize = args.chunksize or math.ceil(args.tasks / workers)
    run(STEP, ABOUT, args, workers, chunksize)
