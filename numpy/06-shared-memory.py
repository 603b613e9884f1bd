"""Twin of step 06: workers map the pairs and write the products in shared memory."""

import math
from multiprocessing import Pool, shared_memory

import numpy as np
from threadpoolctl import threadpool_limits

from common import make_pair, matmul_args, matmul_report, unlink_on_interrupt, physical_cores, pool_extra, verify_products, worker_blas_threads

STEP = "06-shared-memory"
ABOUT = "worker processes map the inputs and write results in shared memory: no copies"
stacks = {}  # name -> (SharedMemory, ndarray view), in the parent and in every worker
blas_limit = None  # a worker's one-BLAS-thread limit, held for its lifetime


def attach(names, shape):
    """Pool initializer: map the three stacks by name, and use one BLAS thread."""
    global blas_limit
    for key, name in names.items():
        shm = shared_memory.SharedMemory(name=name)
        stacks[key] = (shm, np.ndarray(shape, buffer=shm.buf))
    blas_limit = threadpool_limits(1, user_api="blas")


def multiply(task):
    """C[task] = A[task] @ B[task], in place; only the task's number and a reply cross the pipe."""
    a, b, c = (stacks[k][1] for k in "abc")
    np.matmul(a[task], b[task], out=c[task])
    return worker_blas_threads()


def create(tasks, n):
    """The three stacks in shared memory, the pairs written straight into A and B."""
    for key in "abc":
        shm = shared_memory.SharedMemory(create=True, size=max(1, tasks * n * n * 8))
        unlink_on_interrupt(shm)  # Ctrl-C / SIGTERM remove it too
        stacks[key] = (shm, np.ndarray((tasks, n, n), buffer=shm.buf))
    for t in range(tasks):
        make_pair(t, n, stacks["a"][1][t], stacks["b"][1][t])


if __name__ == "__main__":
    args = matmul_args(STEP, ABOUT, pooled=True)
    workers = args.workers or physical_cores()
    chunksize = args.chunksize or 1
    shape = (args.tasks, args.size, args.size)
    report = matmul_report(STEP, ABOUT, args)
    try:
        report.phase("create arrays", create, args.tasks, args.size)
        names = {k: shm.name for k, (shm, _) in stacks.items()}
        pool = report.phase("start workers", Pool, workers, attach, (names, shape))
        with pool:
            seen = report.phase("compute", pool.map, multiply, range(args.tasks), chunksize)
            report.took()
        pool.join()
        pool_extra(report, workers, chunksize, seen)
        a, b, c = (stacks[k][1] for k in "abc")
        verify_products(report, lambda t: (a[t], b[t]), list(c))
    finally:
        for shm, _ in stacks.values():
            shm.unlink()
