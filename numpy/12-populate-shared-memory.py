"""Twin of step 12: pool workers write their slices straight into one shared array."""

import os
from multiprocessing import Pool, shared_memory

import numpy as np

from common import element, unlink_on_interrupt, populate_args, populate_report, slices, verify_array

STEP = "12-populate-shared-memory"
ABOUT = "pool workers write their slices into one array in shared memory"
mapped = {}  # in each worker: the shared array, mapped once by `map_shared`


def map_shared(name, length):
    """Pool initializer, as the Rust worker's `Attached::open_descriptor`: map the array by name."""
    segment = shared_memory.SharedMemory(name=name)
    mapped["segment"], mapped["array"] = segment, np.ndarray((length,), buffer=segment.buf)


def create_shared(size):
    """The shared array's memory, removed too by Ctrl-C, SIGTERM or a closed stdout."""
    segment = shared_memory.SharedMemory(create=True, size=size)
    unlink_on_interrupt(segment)  # before anything is printed: a print may end the run
    return segment


def write_slice(task):
    """Fill elements start..end of the shared array in place; only `None` crosses the pipe."""
    start, end, work = task
    target = mapped["array"]
    for i in range(start, end):
        target[i] = element(i, work)


if __name__ == "__main__":
    args = populate_args(STEP, ABOUT, pooled=True)
    workers = args.workers or os.cpu_count()
    report = populate_report(STEP, ABOUT, args, workers)
    segment = report.phase("create arrays", create_shared, args.len * 8)
    try:
        array = np.ndarray((args.len,), buffer=segment.buf)
        edges = slices(args.len, workers)
        tasks = [(start, end, args.work) for start, end in edges]
        with report.phase("start workers", Pool, workers, map_shared, (segment.name, args.len)) as pool:
            report.phase("fill", pool.map, write_slice, tasks, 1)  # the parent's view sees every write
            report.took()
            pool.close()
            pool.join()
        report.extra("pool_workers", workers)
        verify_array(report, array, args.len, args.work, edges)
    finally:
        segment.unlink()  # the name; the mapping goes with the process
