"""Twin of step 11: pool workers build sub-arrays, pickle them back, the parent concatenates."""

import os
from multiprocessing import Pool

import numpy as np

from common import element, populate_args, populate_report, slices, verify_array

STEP = "11-populate-pool"
ABOUT = "pool workers build sub-arrays, send them back, the parent concatenates"


def populate_subarray(start, size, work):
    """A new array for one slice, returned (pickled) through the pipe."""
    subarray = np.empty(size, dtype=float)
    for k in range(size):
        subarray[k] = element(start + k, work)
    return subarray


if __name__ == "__main__":
    args = populate_args(STEP, ABOUT, pooled=True, bytes_per_element=24)
    workers = args.workers or os.cpu_count()
    report = populate_report(STEP, ABOUT, args, workers)
    edges = slices(args.len, workers)
    indices = [(start, end - start, args.work) for start, end in edges]
    pool = report.phase("start workers", Pool, workers)
    with pool:
        subarrays = report.phase("fill", pool.starmap, populate_subarray, indices, 1)
        array = report.phase("concatenate", np.concatenate, subarrays)
        report.took()
    pool.join()
    report.extra("pool_workers", workers)
    verify_array(report, array, args.len, args.work, edges)
