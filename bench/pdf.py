"""Print how fast agreements render: one at a time, and a batch of a hundred.

Run from the project root::

    .venv/bin/python bench/pdf.py [--runs 15] [--batch 100]

The typical agreement is `center.agreements.examples.example_facts`: three institutes (Latin,
Cyrillic and Hangul names), three donors, twelve budget lines, four trips, five team members
and the default clauses, ten A4 pages in two parts. Rendering goes through the real path: the
Jinja template, then WeasyPrint in the sandboxed worker pool of `center.core.pdf` (the
workers are started and warmed before timing), each part of the agreement on a worker of its
own, then the parts joined. It prints:

* the median, best and worst wall time of one agreement rendered alone, and the CPU time the
  workers spent on it, both parts together (read from the workers' resource usage once they
  exit, less the cost of starting and warming them), which does not depend on what else the
  machine is doing;
* for a batch (as the call-wide batch issuing does), wall time, agreements per second and
  pages per second over every worker of the pool.

The machine's load average is printed first: on a shared two-core machine, wall times grow
with it while the CPU time stays put.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from center.agreements import clauses, pdf, services  # noqa: E402
from center.agreements.examples import example_facts  # noqa: E402
from center.core import pdf as core_pdf  # noqa: E402


def context(number: int = 1) -> dict:
    """The typical agreement's context, with its own reference number."""
    defaults = {key: services.default_clause(key) for key in clauses.CLAUSE_KEYS}
    return services.assemble(example_facts(), defaults, reference=f"ISTC-2026-{number:04d}",
                             version=1, generated_on="2026-03-01")


def _children_cpu() -> float:
    """CPU seconds used by this process's exited (and reaped) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="single renders to time")
    parser.add_argument("--batch", type=int, default=100, help="agreements in the batch")
    args = parser.parse_args()

    one = context()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    # Start and warm every worker, then stop them: what that costs is measured once here and
    # subtracted below.
    warm = pdf.render_many([one] * core_pdf.DEFAULT_POOL_SIZE)
    core_pdf.shutdown()
    startup_cpu = _children_cpu()
    pages = len(PdfReader(io.BytesIO(warm[0])).pages)
    print(f"typical agreement: {pages} pages, {len(warm[0]) / 1024:.0f} KB; "
          f"{os.cpu_count()} CPUs, {core_pdf.DEFAULT_POOL_SIZE} PDF workers, "
          f"load average {load}")

    pdf.render_many([one] * core_pdf.DEFAULT_POOL_SIZE)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        pdf.render_agreement_pdf(one)
        times.append(time.perf_counter() - start)
    core_pdf.shutdown()
    cpu = (_children_cpu() - 2 * startup_cpu) / args.runs
    print(f"one agreement: median {statistics.median(times):.3f} s wall "
          f"(best {min(times):.3f}, worst {max(times):.3f}, {args.runs} runs); "
          f"{cpu:.3f} s CPU in the workers (both parts)")

    batch = [context(n) for n in range(1, args.batch + 1)]
    start = time.perf_counter()
    rendered = pdf.render_many(batch)
    elapsed = time.perf_counter() - start
    total_pages = sum(len(PdfReader(io.BytesIO(data)).pages) for data in rendered)
    print(f"batch of {args.batch}: {elapsed:.1f} s, {args.batch / elapsed:.2f} agreements/s, "
          f"{total_pages / elapsed:.1f} pages/s ({total_pages} pages)")
    core_pdf.shutdown()


if __name__ == "__main__":
    main()
