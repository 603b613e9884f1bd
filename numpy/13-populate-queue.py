"""Twin of step 13: one task message per index, one result message per element, poison pills."""

import os
import queue
import time
from multiprocessing import Process, Queue

import numpy as np

from common import element, fail, populate_args, populate_report, verify_array

STEP = "13-populate-queue"
ABOUT = "one task message per index, one result message per element, a poison pill per worker"


def populate_queue_element(task_queue, result_queue, work):
    """Answer every index with (index, value) until the poison pill (None) arrives."""
    while (i := task_queue.get()) is not None:
        result_queue.put((i, element(i, work)))


def fill(length, tasks, results, processes):
    for i in range(length):
        tasks.put(i)
    array = np.empty(length, dtype=float)
    for _ in range(length):
        while True:  # result_queue.get(), but a dead worker ends the run instead of a hang
            try:
                idx, value = results.get(timeout=1.0)
                break
            except queue.Empty:
                if not all(p.is_alive() for p in processes):
                    for p in processes:
                        p.terminate()
                    tasks.cancel_join_thread()  # exit without flushing the tasks left
                    fail("a worker process died")
        array[idx] = value
    return array


if __name__ == "__main__":
    args = populate_args(STEP, ABOUT, pooled=True, bytes_per_element=512)
    workers = args.workers or os.cpu_count()
    report = populate_report(STEP, ABOUT, args, workers)
    tasks, results = Queue(), Queue()
    processes = [Process(target=populate_queue_element, args=(tasks, results, args.work)) for _ in range(workers)]
    report.phase("start workers", lambda: [p.start() for p in processes])
    start = time.perf_counter()
    array = report.phase("fill", fill, args.len, tasks, results, processes)
    seconds = time.perf_counter() - start
    report.took()
    for _ in processes:
        tasks.put(None)
    for p in processes:
        p.join()
    messages = 2 * args.len
    report.note(f"{messages} messages in {seconds:.3f} s: {messages / seconds:.0f} messages/s, "
                f"{seconds / args.len * 1e6:.1f} µs per element")
    report.extra("messages", messages)
    report.extra("messages_per_second", messages / seconds)
    report.extra("seconds_per_element", seconds / args.len)
    report.extra("pool_workers", workers)
    verify_array(report, array, args.len, args.work, [(0, args.len)])
