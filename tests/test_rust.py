"""The Rust method's build and binary: build_rust.sh, the ONNX Runtime library it loads, its command line.

The build_rust rule's script, with clones of the repository sharing a cargo target folder; the
library the binary loads (the wheel's, and nothing a working directory or a library's ancestors
happen to hold); an argument that is not UTF-8. The crate's own tests run in cargo test."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import STEPS, TRICKY, run_rust

# ---- the library it loads ----


def environment_without_ort_dylib_path() -> dict:
    env = {key: value for key, value in os.environ.items() if key != "ORT_DYLIB_PATH"}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}


def test_a_folder_named_onnxruntime_where_the_binary_runs_is_not_loaded(smoke_models, tmp_path):
    fake = tmp_path / "onnxruntime" / "capi"
    fake.mkdir(parents=True)
    (tmp_path / "onnxruntime" / "__init__.py").write_text("")
    (fake / "libonnxruntime.so.1.99.0").write_bytes(b"not a library")
    done = subprocess.run(
        [str(smoke_models["rust"]), "-m", str(smoke_models["onnx"]), str(TRICKY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment_without_ort_dylib_path(),
    )
    assert done.returncode == 0 and "1.99.0" not in done.stderr, done.stderr


def test_a_library_outside_a_wheel_loads_nothing_from_its_ancestors(smoke_models, tmp_path):
    import ort_dylib

    library = tmp_path / "opt" / "ort" / "lib" / ort_dylib.library_path().name
    library.parent.mkdir(parents=True)
    library.symlink_to(ort_dylib.library_path())
    planted = tmp_path / "opt" / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.13"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"not a library")
    done = run_rust(
        smoke_models["rust"],
        "-d",
        "cuda",
        "-m",
        smoke_models["onnx"],
        TRICKY,
        check=False,
        env={"ORT_DYLIB_PATH": str(library)},
    )
    assert done.returncode != 0 and str(planted) not in done.stderr, done.stderr


def test_the_newest_library_is_chosen_by_version_number(tmp_path, monkeypatch):
    import importlib.util

    import ort_dylib

    capi = tmp_path / "onnxruntime" / "capi"
    capi.mkdir(parents=True)
    for version in ("1.9.0", "1.31.1", "1.22.0"):
        (capi / f"libonnxruntime.so.{version}").write_bytes(b"")
    spec = importlib.util.spec_from_loader("onnxruntime", loader=None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path / "onnxruntime")]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    assert ort_dylib.library_path().name == "libonnxruntime.so.1.31.1"


# ---- its command line ----


def test_a_non_utf8_argument_to_the_rust_binary_is_one_line(smoke_models):
    done = subprocess.run([str(smoke_models["rust"]), b"corpus-\xff.txt"], capture_output=True)
    stderr = done.stderr.decode()
    assert done.returncode == 1 and stderr.count("\n") == 1, stderr
    assert stderr.startswith("onnxruntime-ner: error: argument corpus-\ufffd.txt is not UTF-8")


# ---- the build ----


def test_clones_sharing_a_target_folder_each_copy_their_own_binary(tmp_path):
    """The mechanism of the build_rust rule, on a crate that compiles in a second (a library that
    says which clone, a binary that prints it): clone B builds, then clone A (another library),
    then B with only its binary's source edited (Cargo alone finds B's library fresh, A's record,
    and links A's), B again, then C, a fresh clone of B's sources, which compiles nothing."""
    shared = tmp_path / "shared-target"
    shared.mkdir()
    main = 'fn main() { println!("clone {}", tiny::says()); }\n'
    for clone in ("a", "b", "c"):
        (tmp_path / clone / "src").mkdir(parents=True)
        (tmp_path / clone / "Cargo.toml").write_text('[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n')
        says = "a" if clone == "a" else "b"
        (tmp_path / clone / "src" / "lib.rs").write_text(f'pub fn says() -> &\'static str {{ "{says}" }}\n')
        (tmp_path / clone / "src" / "main.rs").write_text(main + ("// edited\n" if clone == "c" else ""))
        subprocess.run(
            ["cargo", "generate-lockfile", "--offline"], cwd=tmp_path / clone, check=True, capture_output=True
        )
        (tmp_path / clone / "target").symlink_to(shared)
    compiled = []
    for step, clone in enumerate(("b", "a", "b", "b", "c")):
        if step == 2:
            (tmp_path / "b" / "src" / "main.rs").write_text(main + "// edited\n")
        out = tmp_path / f"{clone}.bin"
        sources = [tmp_path / clone / name for name in ("Cargo.lock", "src/lib.rs", "src/main.rs")]
        done = subprocess.run(
            [STEPS / "timing/build_rust.sh", tmp_path / clone / "Cargo.toml", "tiny", out, *sources],
            check=True,
            capture_output=True,
            text=True,
        )
        says = "a" if clone == "a" else "b"
        assert subprocess.run([out], capture_output=True, text=True).stdout == f"clone {says}\n", step
        compiled.append("Compiling tiny" in done.stderr)
    # B's sources again, in B and then in a fresh clone: nothing to compile.
    assert compiled == [True, True, True, False, False]


def test_a_compile_error_fails_the_build_once(tmp_path):
    """A crate that does not compile: the step fails with cargo's error, said once (not cleaned
    and built a second time as if the build had been another clone's)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "broken"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src" / "main.rs").write_text('fn main() { let x: u8 = "no"; }\n')
    subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run(
        [STEPS / "timing/build_rust.sh", tmp_path / "Cargo.toml", "broken", tmp_path / "out", tmp_path / "src/main.rs"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and not (tmp_path / "out").exists()
    assert done.stderr.count("Compiling broken") == 1 and "mismatched types" in done.stderr, done.stderr
