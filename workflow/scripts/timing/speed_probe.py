"""One CPU's part of the host-speed probe (host_load.HostSpeed starts one per allowed CPU):
pinned to its CPU, on one BLAS thread (the caller's environment says so), it warms up a
float32 product, says it is ready (with numpy's version), waits for the go on stdin, so that
every CPU's part runs at once, and prints the seconds its fixed work took.

  python speed_probe.py CPU SIZE REPEATS

It is an input of every timed job: a changed probe re-times the cells, so that the probes one
results folder compares were all taken the same way.
"""

import os
import sys
import time

import numpy as np

cpu, size, repeats = (int(arg) for arg in sys.argv[1:4])
os.sched_setaffinity(0, {cpu})
a, b = (np.random.default_rng(cpu).standard_normal((size, size), dtype=np.float32) for _ in range(2))
a @ b
print(np.__version__, flush=True)
sys.stdin.readline()
began = time.perf_counter()
for _ in range(repeats):
    a @ b
print(time.perf_counter() - began, flush=True)
