"""A mend for Snakemake's scheduler, applied by the workflow (workflow/rules/common.smk).

Snakemake 9.27's job rate limiter (`--max-jobs-per-timespan`, default 100 jobs a second) wakes
its scheduling loop through a timer that every pass of the loop starts anew, and every finished
job makes one more pass: after N jobs, N timer chains each wake the loop once a timespan, and the
loop re-checks every ready job's inputs each time. Its main process's CPU time grew through a grid
(0.3% of a core at the start, 7.8% after 29 jobs on a Zen 4:
docs/measurements/epyc-zen4-2026-12-05-ct2-default-grid.md), timed beside the cells as contention.
The timers are not daemons either, so a longer timespan keeps Snakemake alive that long after its
last job. One pending timer, a daemon, wakes the loop
as the limiter needs: a pass that finds one pending starts none.
"""

import threading

PENDING_LOCK = threading.Lock()


def schedule_reevaluation(scheduler, delay: float) -> None:
    """Wake the scheduler's loop after `delay` seconds, unless a wake-up is already pending."""
    with PENDING_LOCK:
        if getattr(scheduler, "_nerbench_wakeup_pending", False):
            return
        scheduler._nerbench_wakeup_pending = True

    def wake() -> None:
        with PENDING_LOCK:
            scheduler._nerbench_wakeup_pending = False  # before the release: the pass it starts may start the next
        scheduler._open_jobs.release()

    timer = threading.Timer(delay, wake)
    timer.daemon = True
    timer.start()


def mend() -> bool:
    """Replace the scheduler's wake-up where this Snakemake has the one described above."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    if not callable(getattr(JobScheduler, "_schedule_reevalutation", None)):
        return False
    JobScheduler._schedule_reevalutation = schedule_reevaluation
    return True
