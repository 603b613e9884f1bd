"""Twin of step 01: a plain loop of products; NumPy's BLAS runs each on its own threads."""

from common import make_pair, matmul_args, matmul_report, verify_products

STEP = "01-sequential"
ABOUT = "a plain loop; NumPy's BLAS uses its own threads inside each product"

args = matmul_args(STEP, ABOUT, pooled=False)
report = matmul_report(STEP, ABOUT, args)
pairs = report.phase("create arrays", lambda: [make_pair(t, args.size) for t in range(args.tasks)])
products = report.phase("compute", lambda: [a @ b for a, b in pairs])
report.took()
verify_products(report, lambda t: pairs[t], products)
