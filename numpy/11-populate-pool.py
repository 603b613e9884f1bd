"""Twin of step 11: each pool worker builds its slice as a new array; the parent joins them."""

import os
from multiprocessing import Pool

import numpy as np

from common import element, populate_args, populate_report, slices, verify_array

STEP = "11-populate-pool"
ABOUT = "pool workers build sub-arrays, send them back, the parent concatenates"


def slice_task(edge, work):
    """One worker's task, as the Rust step's `slice_task`: the slice's bounds and the rounds."""
    start, end = edge
    return start, end, work


def build_slice(task):
    """A fresh array holding the elements start..end; the whole array is pickled back."""
    start, end, work = task
    out = np.empty(end - start)
    for offset, i in enumerate(range(start, end)):
        out[offset] = element(i, work)
    return out


if __name__ == "__main__":
    args = populate_args(STEP, ABOUT, pooled=True, bytes_per_element=24)
    workers = args.workers or os.cpu_count()
    report = populate_report(STEP, ABOUT, args, workers)
    edges = slices(args.len, workers)
    tasks = [slice_task(edge, args.work) for edge in edges]
    with report.phase("start workers", Pool, workers) as pool:
        parts = report.phase("fill", pool.map, build_slice, tasks, 1)
        array = report.phase("concatenate", np.concatenate, parts)
        report.took()
        pool.close()
        pool.join()
    report.extra("pool_workers", workers)
    verify_array(report, array, args.len, args.work, edges)
