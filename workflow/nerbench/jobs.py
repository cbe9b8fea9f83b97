"""The time a timed cell's scheduler job must allow: its own time limit (benchmark.timeout_s), the
re-run that shows why a program failed (run_cell.py bounds it by FAILURE_RERUN_S) and the job's
start-up (the executor starts Snakemake again inside the job; the environment is recorded), or
the scheduler kills a hung cell before it is recorded as timed out. Part of the timing harness."""

FAILURE_RERUN_S = 300
JOB_STARTUP_S = 300


def cell_job_seconds(timeout_s: int, quiet_start_s: int = 0) -> int:
    """The least time a timed cell's job needs, in seconds: its quiet start (and one more look
    at the host), its runs, the re-run that shows why a cell failed, the job's start-up."""
    quiet = quiet_start_s + 1 if quiet_start_s else 0
    return quiet + timeout_s + min(timeout_s, FAILURE_RERUN_S) + JOB_STARTUP_S
