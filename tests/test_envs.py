"""Conda cannot be installed here, so the conda path is checked for consistency: every rule
names an env file that exists, and every pin in envs/ agrees with requirements.lock."""

import re

import yaml
from conftest import REPO

LOCK = {
    name.lower().replace("_", "-"): version
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$", (REPO / "requirements.lock").read_text(), re.M)
}


def env_files():
    return sorted((REPO / "envs").glob("*.yaml"))


def test_every_rule_has_a_log_and_an_existing_conda_env():
    rule_files = sorted((REPO / "workflow" / "rules").glob("*.smk"))
    for path in rule_files:
        text = path.read_text()
        for rule in re.split(r"^rule ", text, flags=re.M)[1:]:
            name = rule.split(":")[0]
            assert "\n    log:" in rule, f"{path.name}: rule {name} has no log:"
            assert "\n    conda:" in rule, f"{path.name}: rule {name} has no conda:"
            for env in re.findall(r'"\.\./\.\./envs/([\w-]+\.yaml)"', rule):
                assert (REPO / "envs" / env).is_file(), f"rule {name}: envs/{env} missing"
    methods = yaml.safe_load((REPO / "workflow" / "methods.yaml").read_text())
    for name, method in methods.items():
        assert (REPO / "envs" / f"{method['env']}.yaml").is_file(), f"method {name}: envs/{method['env']}.yaml missing"


def test_env_pins_agree_with_the_lock():
    checked = 0
    for path in env_files():
        env = yaml.safe_load(path.read_text())
        for dependency in env["dependencies"]:
            for pin in dependency["pip"] if isinstance(dependency, dict) else []:
                name, version = pin.split("==")
                assert LOCK.get(name.lower().replace("_", "-")) == version, f"{path.name}: {pin} but the lock has {LOCK.get(name.lower())}"
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
