"""The environments: the conda envs' files and pins, and the shared virtual environment's builds.

Conda cannot be installed here, so the conda path is checked for consistency: every env file
a rule or method names exists, and every pin in envs/ agrees with requirements.lock. The virtual
environment is keyed by the interpreter that builds it, and two builds of it at once take turns."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from conftest import REPO

LOCK = {
    name.lower().replace("_", "-"): version
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$", (REPO / "requirements.lock").read_text(), re.M)
}


def env_files():
    return sorted((REPO / "envs").glob("*.yaml"))


def test_every_conda_env_a_rule_or_method_names_exists():
    """`snakemake --lint` (make lint) checks that every rule has a log and a conda env; not that the file is there."""
    named = set()
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        named |= set(re.findall(r'"\.\./\.\./envs/([\w-]+\.yaml)"', path.read_text()))
    methods = yaml.safe_load((REPO / "workflow" / "methods.yaml").read_text())["methods"]
    named |= {f"{method['env']}.yaml" for method in methods.values()}
    assert named and all((REPO / "envs" / env).is_file() for env in named), sorted(named)


def test_env_pins_agree_with_the_lock():
    checked = 0
    for path in env_files():
        env = yaml.safe_load(path.read_text())
        for dependency in env["dependencies"]:
            for pin in dependency["pip"] if isinstance(dependency, dict) else []:
                name, version = pin.split("==")
                name = name.split("[")[0]  # onnxruntime-gpu[cuda,cudnn]: the extras name no package
                assert LOCK.get(name.lower().replace("_", "-")) == version, (
                    f"{path.name}: {pin} but the lock has {LOCK.get(name.lower())}"
                )
                checked += 1
    assert checked >= 20


def test_post_deploy_pins_agree_with_the_nodeps_file():
    nodeps = set(re.findall(r"^(\S+==\S+)$", (REPO / "requirements-nodeps.txt").read_text(), re.M))
    for script in (REPO / "envs").glob("*.post-deploy.sh"):
        pins = set(re.findall(r"(\S+==\S+)", script.read_text()))
        assert pins and pins <= nodeps, script.name


def test_rust_toolchain_pin_matches_the_crate():
    env = yaml.safe_load((REPO / "envs" / "rust.yaml").read_text())
    assert any(str(d).startswith("rust=") for d in env["dependencies"])
    cargo = (REPO / "onnxruntime-ner" / "Cargo.toml").read_text()
    assert 'version = "=2.0.0-rc.15"' in cargo and "load-dynamic" in cargo and "default-features = false" in cargo


# ---- the shared virtual environment ----


def test_a_venv_is_keyed_by_the_interpreter_that_builds_it():
    """HOST_TORCH=1 takes the interpreter's own site-packages (its torch): another interpreter,
    even of the same version, is another environment."""

    def venv_of(python: str) -> str:
        command = ["make", "--no-print-directory", "-C", str(REPO), "-n", "venv", "HOST_TORCH=1", f"PYTHON={python}"]
        done = subprocess.run(command, capture_output=True, text=True)
        return next(line for line in done.stdout.splitlines() if "install-venv" in line).split()[1]

    base = Path(sys.base_prefix) / "bin" / "python3"
    assert str(base) != sys.executable  # a virtual environment: another interpreter, its own site-packages
    assert venv_of(str(base)) != venv_of(sys.executable)


def tiny_wheel(folder: Path) -> Path:
    """A real, minimal wheel, so that the install needs no package index."""
    wheel = folder / "nerbench_probe-1.0-py3-none-any.whl"
    info = "nerbench_probe-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nerbench_probe.py", "ANSWER = 42\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: nerbench-probe\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_two_concurrent_venv_builds_take_turns(tmp_path):
    tiny_wheel(tmp_path)
    (tmp_path / "lock.txt").write_text("nerbench-probe==1.0\n")
    (tmp_path / "nodeps.txt").write_text("")
    venv = tmp_path / "venv"
    command = [REPO / "tools/install-venv", venv, tmp_path / "lock.txt", tmp_path / "nodeps.txt", venv / ".installed"]
    env = {**os.environ, "WHEELS": str(tmp_path), "PYTHON": sys.executable}
    builds = [
        subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for _ in range(2)
    ]
    outputs = [build.communicate(timeout=300)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], outputs
    assert sum("creating" in output for output in outputs) == 1, outputs
    assert sum("being built by another process" in output for output in outputs) == 1, outputs
    probe = subprocess.run(
        [venv / "bin/python", "-c", "import nerbench_probe; print(nerbench_probe.ANSWER)"],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "42", probe.stderr
