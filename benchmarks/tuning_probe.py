"""What `index.tuning` buys on this machine, printed as figures for the benchmark.

    python benchmarks/tuning_probe.py

Run in a fresh process without malloc tuning in the environment: a worker thread allocates and
frees four 1 MB arrays four times over (a batch's pattern in miniature), and its last round's
page faults are counted before and after `keep_freed_memory_for_reuse()`.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from index.tuning import keep_freed_memory_for_reuse  # noqa: E402


def faults_of_last_round() -> int:
    out: list[int] = []

    def work() -> None:
        before = after = 0
        for _ in range(4):
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            held = [np.ones(125_000) for _ in range(4)]
            del held
            after = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        out.append(after - before)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return out[0]


def main() -> int:
    untuned = faults_of_last_round()
    applied = keep_freed_memory_for_reuse()
    tuned = faults_of_last_round()
    figures = {"malloc_tuned": applied, "faults_untuned": untuned, "faults_tuned": tuned}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
