"""Peak GPU memory of the timed processes, from NVML (nvidia-ml-py), for every method alike.

run_cell.py starts hyperfine in a process group of its own; while it runs, a thread asks NVML
every few milliseconds which processes hold device memory and adds up those of that group (the
timed program is hyperfine's child, in the same group). ONNX Runtime's and torch's allocators
keep what they took until the process ends, so the last sample before exit sees the peak.
Where NVML is missing or does not see the group's processes (no GPU, a container whose process
ids NVML cannot map), the peak is None rather than a guess.
"""

import os
import threading


class GroupGpuMemory:
    """A measurement as a context manager: `with GroupGpuMemory() as memory: ... memory.watch(pgid)`."""

    def __init__(self, interval_s: float = 0.02):
        self.interval_s = interval_s
        self.peak_bytes: int | None = None
        self.group: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml = None

    def __enter__(self) -> "GroupGpuMemory":
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
        except Exception:  # no nvidia-ml-py, no driver, no GPU: nothing to measure
            self._nvml = None
        return self

    def watch(self, group: int) -> None:
        """Start sampling the processes of this process group."""
        self.group = group
        if self._nvml is not None:
            self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
            self._thread.start()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._nvml is not None:
            self._nvml.nvmlShutdown()

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval_s):
            used = self.group_bytes()
            if used is not None:
                self.peak_bytes = max(self.peak_bytes or 0, used)

    def group_bytes(self) -> int | None:
        """Device memory the group's processes hold now, summed over every GPU; None if it holds none."""
        nvml, total, seen = self._nvml, 0, False
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            for process in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if in_group(process.pid, self.group) and process.usedGpuMemory is not None:
                    total, seen = total + process.usedGpuMemory, True
        return total if seen else None


def in_group(pid: int, group: int) -> bool:
    try:
        return os.getpgid(pid) == group
    except (ProcessLookupError, PermissionError):
        return False
