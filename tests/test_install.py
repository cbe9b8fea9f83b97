"""Installing where a cluster's GPU nodes are: a site PyTorch and no internet. `make wheels` on a
machine that reaches the index, then an install from that folder alone on a host Python that
brings its own torch (HOST_TORCH=1), with the package index out of reach.

These download and install several GB, so they run in `make test-install`, not `make test`.
The host Python is a copy of this machine's base interpreter whose site-packages holds torch (and
the libraries torch brings) from the project's environment: a real interpreter with a real torch
that the virtual environment reaches through --system-site-packages only.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import REPO

pytestmark = pytest.mark.install
# What the host brings with its torch: torch's own requirements (the NVIDIA libraries among them).
HOST_PACKAGES = ["torch"] + sorted(
    {Requirement(text).name for text in metadata.requires("torch") or [] if "extra ==" not in text}
)


def distribution_paths(name: str) -> list[Path]:
    """The top-level folders and the .dist-info of an installed distribution (not its console
    scripts, which the record names as ../../../bin/...: the host's interpreter has its own)."""
    distribution = metadata.distribution(name)
    site = Path(distribution.locate_file(""))
    tops = {Path(str(item)).parts[0] for item in distribution.files or []}
    return [site / top for top in tops if top != ".." and not top.endswith(".pth") and (site / top).exists()]


@pytest.fixture(scope="module")
def host_python(tmp_path_factory) -> Path:
    """A base interpreter (not a virtual environment) with torch installed in its site-packages."""
    base = Path(sys.base_prefix)
    host = tmp_path_factory.mktemp("host") / "python"
    shutil.copytree(base, host, symlinks=True, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "test"))
    site = host / Path(sysconfig.get_paths()["purelib"]).relative_to(sys.prefix)
    site.mkdir(parents=True, exist_ok=True)
    # Namespace folders (nvidia/) hold several distributions: one link brings them all.
    paths = {path for name in HOST_PACKAGES for path in distribution_paths(name)}
    for path in paths:
        (site / path.name).symlink_to(path)
    python = host / "bin" / "python3"
    probe = subprocess.run(
        [python, "-c", "import sys, torch; print(sys.prefix == sys.base_prefix, torch.__version__)"],
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0 and probe.stdout.startswith("True"), probe.stderr[-2000:]
    return python


def test_an_offline_install_from_a_wheel_folder_on_the_hosts_torch(host_python, tmp_path):
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"
    made = subprocess.run(
        ["make", "-C", str(REPO), "wheels", f"WHEELS={wheels}", "HOST_TORCH=1"], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr[-3000:]
    assert not list(wheels.glob("torch-*.whl")), "the host brings torch: the folder must not"
    assert all(path.suffix == ".whl" for path in wheels.iterdir()), "the offline host must build nothing"
    # No package index can be reached: a proxy that refuses and an index on a closed port.
    offline = {
        **os.environ,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_FIND_LINKS": "",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    installed = subprocess.run(
        ["make", "-C", str(REPO), "venv", f"VENV={venv}", f"WHEELS={wheels}", "HOST_TORCH=1", f"PYTHON={host_python}"],
        capture_output=True,
        text=True,
        env=offline,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    probe = subprocess.run(
        [
            venv / "bin/python",
            "-c",
            "import torch, onnxruntime, snakemake, transformers, openvino; print(torch.__file__); "
            "print(onnxruntime.get_device())",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    torch_file = Path(probe.stdout.splitlines()[0])
    assert not torch_file.is_relative_to(venv), "torch came from the lock, not from the host"
    environment = subprocess.run(
        [venv / "bin/python", REPO / "workflow/scripts/timing/environment.py"], capture_output=True, text=True
    )
    assert '"torch": "' in environment.stdout, "the host's torch version is recorded"
