# The Rust method's binary: cargo build --release --locked, copied into the working directory
# so its cells depend on it (editing the Rust source rebuilds and re-times only those cells).
# target/ may be shared by several clones (make links it into the cache): the step builds and
# copies under one lock; a stamp of what the binary was built from lets a clone of the same sources
# take it as it is, and the crate is cleaned and built again whenever cargo might have kept another
# clone's part of it (workflow/scripts/timing/build_rust.sh).

RUST_CRATE = REPO / "onnxruntime-ner"


rule build_rust:
    input:
        manifest=f"{RUST_CRATE}/Cargo.toml",
        lock=f"{RUST_CRATE}/Cargo.lock",
        sources=sorted(str(p) for p in (RUST_CRATE / "src").glob("*.rs")),
        compiled_in=script("nerlib/positions.json"),
        script=f"{REPO}/workflow/scripts/timing/build_rust.sh",
    output:
        GRID.registry.methods["onnxruntime-ner"]["program"],
    log:
        "logs/build_rust.log",
    priority: PREPARATION_PRIORITY
    conda:
        "../../envs/rust.yaml"
    threads: host_cores
    params:
        binary=lambda w, output: Path(output[0]).name,
    shell:
        "{input.script:q} {input.manifest:q} {params.binary:q} {output:q} {input.lock:q} {input.sources:q}"
        " {input.compiled_in:q} > {log:q} 2>&1"
