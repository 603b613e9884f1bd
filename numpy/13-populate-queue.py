"""Twin of step 13: one message per index out, one message per value back, a stop per worker.

The Rust step's pool is this queue pair: `to_workers` carries each index (the task queue),
`from_workers` each (index, value) (the result queue), and `None` tells a worker to stop.
"""

import os
import queue
import time
from multiprocessing import Process, Queue

import numpy as np

from common import element, fail, populate_args, populate_report, verify_array

STEP = "13-populate-queue"
ABOUT = "one task message per index, one result message per element, a poison pill per worker"


def element_worker(to_workers, from_workers, work):
    """The Rust step's `element_in_worker`: answer each index with (index, value) until None."""
    for i in iter(to_workers.get, None):
        from_workers.put((i, element(i, work)))


def next_result(from_workers, workers):
    """The next (index, value); a dead worker ends the run with one line instead of a hang."""
    while True:
        try:
            return from_workers.get(timeout=1.0)
        except queue.Empty:
            if not all(w.is_alive() for w in workers):
                for w in workers:
                    w.kill()
                fail("a worker process died")


def scatter(length, to_workers, from_workers, workers):
    """Send every index, then place each value as it arrives (in any order)."""
    for i in range(length):
        to_workers.put(i)
    array = np.empty(length)
    for _ in range(length):
        i, value = next_result(from_workers, workers)
        array[i] = value
    return array


if __name__ == "__main__":
    args = populate_args(STEP, ABOUT, pooled=True, bytes_per_element=512)
    count = args.workers or os.cpu_count()
    report = populate_report(STEP, ABOUT, args, count)
    to_workers, from_workers = Queue(), Queue()
    to_workers.cancel_join_thread()  # an early exit must not wait to flush unsent indices
    workers = [Process(target=element_worker, args=(to_workers, from_workers, args.work)) for _ in range(count)]
    report.phase("start workers", lambda: [w.start() for w in workers])
    start = time.perf_counter()
    array = report.phase("fill", scatter, args.len, to_workers, from_workers, workers)
    seconds = time.perf_counter() - start
    report.took()
    for w in workers:
        to_workers.put(None)  # the poison pill
    for w in workers:
        w.join()
    messages = 2 * args.len
    report.note(f"{messages} messages in {seconds:.3f} s: {messages / seconds:.0f} messages/s, "
                f"{seconds / args.len * 1e6:.1f} µs per element")
    report.extra("messages", messages)
    report.extra("messages_per_second", messages / seconds)
    report.extra("seconds_per_element", seconds / args.len)
    report.extra("pool_workers", count)
    verify_array(report, array, args.len, args.work, [(0, args.len)])
