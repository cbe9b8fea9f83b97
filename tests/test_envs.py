"""Conda cannot be installed here, so the conda path is checked for consistency: every env file
a rule or method names exists, and every pin in envs/ agrees with requirements.lock."""

import re

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
