"""Twin of step 12: pool workers write their slices straight into one shared array."""

import os
from multiprocessing import Pool, shared_memory

import numpy as np

from common import element, populate_args, populate_report, slices, verify_array

STEP = "12-populate-shared-memory"
ABOUT = "pool workers write their slices into one array in shared memory"
shared = {}


def attach(name, length):
    """Pool initializer: map the shared array by name."""
    shm = shared_memory.SharedMemory(name=name)
    shared["shm"], shared["array"] = shm, np.ndarray((length,), buffer=shm.buf)


def populate_shared_subarray(start, size, work):
    """Write one slice in place; nothing but `None` goes back."""
    array = shared["array"]
    for i in range(start, start + size):
        array[i] = element(i, work)


if __name__ == "__main__":
    args = populate_args(STEP, ABOUT, pooled=True)
    workers = args.workers or os.cpu_count()
    report = populate_report(STEP, ABOUT, args, workers)
    shm = report.phase("create arrays", lambda: shared_memory.SharedMemory(create=True, size=args.len * 8))
    try:
        array = np.ndarray((args.len,), buffer=shm.buf)
        pool = report.phase("start workers", Pool, workers, attach, (shm.name, args.len))
        edges = slices(args.len, workers)
        with pool:
            indices = [(start, end - start, args.work) for start, end in edges]
            report.phase("fill", pool.starmap, populate_shared_subarray, indices, 1)
            report.took()
        pool.join()
        report.extra("pool_workers", workers)
        verify_array(report, array, args.len, args.work, edges)
    finally:
        shm.unlink()  # the name; the mapping goes with the process
