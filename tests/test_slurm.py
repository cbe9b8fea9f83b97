"""The grid on a real SLURM: Debian's slurmctld, slurmd and munge, started here as a one-node
cluster on loopback, and the smoke grid run through snakemake-executor-plugin-slurm with the
project's own profile (profiles/slurm).

It proves that every timed cell ran as a SLURM job of its own, that no timed job overlapped any
other job, that the tables have the shape of a local run's, that `scancel` of a running timed
cell leaves no result and no process behind, and that the daemons are gone at the end. Every wait
is bounded; nothing listens or connects beyond loopback. Needs root (the daemons, /etc/slurm);
`make test` installs the packages.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import (
    REPO,
    SMOKE,
    poll_until,
    process_running,
    read_json,
    snakemake_command,
    workdir_lock,
    workflow_environment,
)

DAEMONS = ("slurmctld", "slurmd", "munged")
# One method of each kind (torch, Python on ONNX Runtime, the Rust binary): every cell a job.
SLURM_METHODS = ["baseline", "ort-lean", "onnxruntime-ner"]
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(name) for name in ("slurmctld", "slurmd", "munged", "sbatch")),
    reason="needs root and Debian's slurmctld, slurmd, slurm-client and munge (make test installs them)",
)

SLURM_CONF = """\
ClusterName=nerbench
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={state}/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=16000 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def wait_for(check, seconds: float, what: str):
    if found := poll_until(check, seconds, interval=0.5):
        return found
    raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}")


def running(name: str) -> list[int]:
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


@pytest.fixture(autouse=True)
def smoke_folder_held(request):
    """The tests here start Snakemake in the smoke run's folder themselves, not through
    run_snakemake: each holds the folder's lock throughout, so no copy of it is taken mid-run."""
    if "smoke" not in request.fixturenames:
        yield
        return
    with workdir_lock(request.getfixturevalue("smoke")["workdir"]):
        yield


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A one-node SLURM, its configuration in /etc/slurm (where job steps look for it), state in a
    folder of the test's own; the files it replaces are restored and the daemons stopped after."""
    assert not any(running(name) for name in DAEMONS), "SLURM or munge daemons already run here"
    state = tmp_path_factory.mktemp("slurm")
    etc = Path("/etc/slurm")
    etc.mkdir(exist_ok=True)
    saved = {name: (etc / name).read_bytes() for name in ("slurm.conf", "cgroup.conf") if (etc / name).exists()}
    host = socket.gethostname().split(".")[0]
    (etc / "slurm.conf").write_text(SLURM_CONF.format(host=host, state=state, cpus=os.cpu_count()))
    (etc / "cgroup.conf").write_text("CgroupPlugin=cgroup/v1\n")
    for folder in ("ctld", "d"):
        (state / folder).mkdir()
    munge_key = Path("/etc/munge/munge.key")
    subprocess.run(["install", "-d", "-o", "munge", "-g", "munge", "-m755", "/run/munge"], check=True)
    if not munge_key.exists():
        subprocess.run(["mungekey", "--create"], check=True)
    subprocess.run(["chown", "munge:munge", str(munge_key)], check=True)
    munge_key.chmod(0o400)
    try:
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True, timeout=30)
        subprocess.run(["slurmctld", "-c"], check=True, timeout=30)
        subprocess.run(["slurmd", "-N", host], check=True, timeout=30)
        wait_for(
            lambda: "idle" in subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout,
            60,
            "the node to be idle",
        )
        yield {"state": state, "host": host}
    finally:
        for name in DAEMONS:
            for pid in running(name):
                os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not any(running(name) for name in DAEMONS), 30, "the daemons to stop")
        for name in ("slurm.conf", "cgroup.conf"):
            if name in saved:
                (etc / name).write_bytes(saved[name])
            else:
                (etc / name).unlink(missing_ok=True)
    assert not any(running(name) for name in DAEMONS)


def cluster_config(tmp_path: Path, results: str, **benchmark) -> Path:
    """The smoke config (its model is built already) on one machine kind: this node."""
    settings = yaml.safe_load(SMOKE.read_text())
    settings["results"] = results
    settings["machines"] = [
        {
            "name": "node",
            "partition": "debug",
            "cpus": os.cpu_count(),
            "mem_mb": 4000,
            "runtime": 20,
            "devices": ["cpu"],
        }
    ]
    settings["benchmark"].update(benchmark)
    path = tmp_path / f"{Path(results).name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def snakemake_on_slurm(workdir: Path, config: Path, *extra, cores=("--cores", "2")) -> list[str]:
    return snakemake_command(workdir, config) + [
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        # This cluster keeps no accounting: job states from squeue (MinJobAge=600 above).
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--default-resources",
        "slurm_partition=debug",
        "mem_mb=1000",
        "runtime=20",
        "--jobs",
        "4",
        *cores,
        *extra,
    ]


def job_records(state: Path) -> dict[str, dict]:
    """jobcomp/filetxt's line per finished job, by job id."""
    records = {}
    for line in (state / "jobcomp.txt").read_text().splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        records[fields["JobId"]] = fields
    return records


def epoch(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))


def test_the_smoke_grid_runs_on_slurm_one_timed_job_per_cell_alone(cluster, smoke, tmp_path):
    workdir = smoke["workdir"]
    config = cluster_config(tmp_path, "results/slurm", methods=SLURM_METHODS, batch_sizes=[1])
    shutil.rmtree(workdir / "results" / "slurm", ignore_errors=True)
    done = subprocess.run(
        snakemake_on_slurm(workdir, config), capture_output=True, text=True, env=workflow_environment(), timeout=900
    )
    assert done.returncode == 0, done.stderr[-6000:]
    results = workdir / "results" / "slurm"
    cells = sorted((results / "machines" / "node" / "cells").glob("*/*.json"))
    assert len(cells) == len(SLURM_METHODS)
    jobs = {}
    for path in cells:
        record = read_json(path)
        assert record["status"] == "ok", (path, record.get("reason"))
        slurm = record["environment"]["scheduler"]["slurm"]
        assert slurm["job_id"] and slurm["node"] == cluster["host"], slurm
        jobs[slurm["job_id"]] = path
    assert len(jobs) == len(cells), "two timed cells shared a SLURM job"
    records = job_records(cluster["state"])
    for job, path in jobs.items():
        mine = records[job]
        start, end = epoch(mine["StartTime"]), epoch(mine["EndTime"])
        for other, theirs in records.items():
            if other != job:
                assert not (epoch(theirs["StartTime"]) < end and start < epoch(theirs["EndTime"])), (
                    f"{path.parent.name}/{path.name} (job {job}) overlapped job {other}"
                )
    local = pd_rows(smoke["results"] / "summary.csv")
    on_slurm = pd_rows(results / "summary.csv")
    assert on_slurm == local, "the tables on SLURM have another shape than the local run's"
    assert "Machine: " in (results / "tables.md").read_text() and (results / "verified.txt").is_file()


def pd_rows(summary: Path) -> list[tuple]:
    """The CPU cells (the cluster's machine has no GPU) of the methods run on it, and their status."""
    import pandas as pd

    frame = pd.read_csv(summary)
    frame = frame[(frame["device"] == "cpu") & frame["method"].isin(SLURM_METHODS) & (frame["batch_size"] == 1)]
    return sorted(zip(frame["method"], frame["batch_size"], frame["status"], frame["dtype"], strict=True))


def test_scancel_of_a_timed_cell_leaves_no_result_and_no_process(cluster, smoke, tmp_path):
    workdir = smoke["workdir"]
    config = cluster_config(tmp_path, "results/slurm-cancel", methods=["baseline"], batch_sizes=[1], runs=20)
    results = workdir / "results" / "slurm-cancel"
    shutil.rmtree(results, ignore_errors=True)
    cell = results / "machines/node/cells/baseline/cpu-bs1.json"
    log = results / "machines/node/logs/cells/baseline/cpu-bs1.log"
    process = subprocess.Popen(
        snakemake_on_slurm(workdir, config, cell.relative_to(workdir)),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=workflow_environment(),
        start_new_session=True,
    )
    try:
        wait_for(lambda: log.is_file() and "$ hyperfine" in log.read_text(), 300, "the cell's hyperfine to start")
        time.sleep(2)  # inside the timed program now
        jobs = subprocess.run(["squeue", "-h", "-o", "%i %k"], capture_output=True, text=True).stdout.split("\n")
        job = next(line.split()[0] for line in jobs if "benchmark_cell" in line)
        subprocess.run(["scancel", job], check=True, timeout=30)
        wait_for(
            lambda: not subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True).stdout.strip(),
            60,
            "the job to leave the queue",
        )
        wait_for(
            lambda: not process_running("baseline.py -d cpu .*results/slurm-cancel/"),
            30,
            "the timed program to be gone",
        )
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0, output[-3000:]
    assert not cell.exists(), "a cancelled cell left a result that a later run would take as done"
    assert not list(cell.parent.glob("*.partial")) and not list(cell.parent.glob(".*.partial"))
    assert not process_running("(run_cell.py|hyperfine) .*results/slurm-cancel/")
    assert "stopped by SIGTERM" in log.read_text() or "CANCELLED" in output, log.read_text()[-2000:]


def test_a_machine_without_a_partition_is_refused_under_the_cluster_profile_in_one_line(cluster, smoke, tmp_path):
    """Its timed cells would share a node of the default partition: the run stops before any job."""
    settings = yaml.safe_load(SMOKE.read_text())
    settings.update(results="results/slurm-local", machines=[{"name": "box", "devices": ["cpu"]}])
    config = tmp_path / "local.yaml"
    config.write_text(yaml.safe_dump(settings))
    done = subprocess.run(
        snakemake_on_slurm(smoke["workdir"], config), capture_output=True, text=True, env=workflow_environment()
    )
    errors = [line for line in done.stderr.splitlines() if "config error" in line]
    assert done.returncode != 0 and len(errors) == 1, done.stderr[-3000:]
    assert "machine box has no partition" in errors[0]
    assert not (smoke["workdir"] / "results" / "slurm-local" / "machines").exists()


def test_the_profile_runs_without_cores_as_the_readme_gives_it(cluster, smoke, tmp_path):
    """`snakemake --workflow-profile profiles/slurm` (no --cores: a cluster profile gives jobs): the
    jobs whose threads were all of Snakemake's cores (the Rust build, the model build) run as SLURM
    jobs, in a fresh working directory."""
    model = tmp_path / "model"
    shutil.copytree(smoke["workdir"] / "data/models/smoke-minilm/torch", model)
    settings = yaml.safe_load(SMOKE.read_text())
    settings["model"] = {"name": "copied", "source": "local", "local": {"path": str(model)}}
    config = tmp_path / "copied.yaml"
    config.write_text(yaml.safe_dump(settings))
    workdir = tmp_path / "work"
    targets = ["data/models/copied/torch", "bin/onnxruntime-ner"]
    done = subprocess.run(
        # This node has fewer cores than the profile's build_model threads.
        snakemake_on_slurm(workdir, config, *targets, "--set-threads", "build_model=1", cores=()),
        capture_output=True,
        text=True,
        env=workflow_environment(),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (workdir / targets[0] / "model_info.json").is_file() and (workdir / targets[1]).is_file()
