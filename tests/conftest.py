"""Shared fixtures: the repository, a Snakemake runner, and one end-to-end smoke run that the
workflow and method tests reuse (it builds a small fine-tuned model, so it runs once)."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"  # the timed programs and nerlib
STEPS = REPO / "workflow" / "scripts"  # the pipeline's steps
SMOKE = REPO / "configs" / "smoke.yaml"
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(STEPS))


def snakemake_command(workdir, configfile=SMOKE) -> list[str]:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    return command + (["--configfile", str(configfile)] if configfile else [])


def workflow_environment(**extra) -> dict:
    """Rules call `python` and `hyperfine`: the interpreter running the tests, as `make test` arranges."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", **extra}


def run_snakemake(workdir, *args, configfile=SMOKE, env=None, check=True):
    done = subprocess.run(
        snakemake_command(workdir, configfile) + list(args),
        capture_output=True,
        text=True,
        env=workflow_environment(**(env or {})),
    )
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}")
    return done


def config_error_of(override: dict, workdir) -> str | None:
    """What workflow/rules/common.smk says of config.yaml extended by `override` (as Snakemake
    would extend it): its one-line error, or None. Run in this process, which is 20 times faster
    than starting Snakemake; tests/test_workflow.py checks the same through Snakemake itself."""
    from config_value import extend

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    extend(config, copy.deepcopy(override))
    namespace = {"workflow": SimpleNamespace(basedir=str(REPO), cores=1), "config": config}
    code = compile((REPO / "workflow" / "rules" / "common.smk").read_text(), "common.smk", "exec")
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        exec(code, namespace)
    except SystemExit as stop:
        return str(stop)
    finally:
        os.chdir(previous)
    return None


def planned_jobs(output: str) -> dict[str, int]:
    """Snakemake's dry-run 'Job stats' table as {rule: count}."""
    jobs, in_table = {}, False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table, jobs = True, {}
            continue
        if in_table:
            parts = line.split()
            if parts and parts[0] == "total":
                in_table = False
            elif len(parts) == 2 and parts[1].isdigit():
                jobs[parts[0]] = int(parts[1])
    return jobs


# The method registry: which programs the grid can time, and which model directory each reads.
REGISTRY = yaml.safe_load((REPO / "workflow" / "methods.yaml").read_text())
PYTHON_METHODS = {name: entry["model"] for name, entry in REGISTRY["methods"].items() if not entry.get("built")}


def run_method(program: str, *args, check=True, python_flags=(), **kwargs):
    path = REPO / program
    command = [sys.executable, *python_flags, str(path)] if program.endswith(".py") else [str(path)]
    done = subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{program} failed: {done.stderr[-3000:]}")
    return done


def run_rust(binary, *args, check=True, **kwargs):
    """The Rust binary, on the ONNX Runtime library of this environment's wheel."""
    import ort_dylib

    env = {**os.environ, "ORT_DYLIB_PATH": str(ort_dylib.library_path()), **kwargs.pop("env", {})}
    done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, env=env, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{binary} failed: {done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """The smoke config run end to end in a scratch working directory (NERBENCH_SMOKE_WORKDIR
    names one to reuse between runs while developing: Snakemake redoes only what changed)."""
    reuse = os.environ.get("NERBENCH_SMOKE_WORKDIR")
    workdir = Path(reuse) if reuse else tmp_path_factory.mktemp("smoke")
    done = run_snakemake(workdir, "--cores", "2")
    return {"workdir": workdir, "results": workdir / "results" / "smoke", "log": done.stderr}


@pytest.fixture(scope="session")
def smoke_models(smoke):
    workdir = smoke["workdir"]
    return {
        "torch": workdir / "data/models/smoke-minilm/torch",
        "onnx": workdir / "data/models/smoke-minilm/onnx",
        "rust": workdir / "bin" / "onnxruntime-ner",
    }


def read_json(path):
    return json.loads(Path(path).read_text())
