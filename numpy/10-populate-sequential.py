"""Twin of step 10: a plain Python loop over the indices, on one core."""

import numpy as np

from common import element, populate_args, populate_report, verify_array

STEP = "10-populate-sequential"
ABOUT = "a plain loop over the indices, on one core"


def fill(length, work):
    array = np.empty(length, dtype=float)
    for i in range(length):
        array[i] = element(i, work)
    return array


args = populate_args(STEP, ABOUT, pooled=False)
report = populate_report(STEP, ABOUT, args, 1)
array = report.phase("fill", fill, args.len, args.work)
report.took()
verify_array(report, array, args.len, args.work, [(0, args.len)])
