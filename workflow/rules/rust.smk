# The Rust method's binary: cargo build --release --locked, copied into the working directory
# so its cells depend on it (editing the Rust source rebuilds and re-times only those cells).
# target/ may be shared by several clones (make links it into the cache): the build and the copy
# happen under one lock, so that no other clone's build replaces the binary in between.

RUST_CRATE = REPO / "onnxruntime-ner"


rule build_rust:
    input:
        manifest=f"{RUST_CRATE}/Cargo.toml",
        lock=f"{RUST_CRATE}/Cargo.lock",
        sources=sorted(str(p) for p in (RUST_CRATE / "src").glob("*.rs")),
        compiled_in=script("nerlib/positions.json"),
    output:
        GRID.registry.methods["onnxruntime-ner"]["program"],
    log:
        "logs/build_rust.log",
    conda:
        "../../envs/rust.yaml"
    threads: host_cores
    params:
        target=f"{RUST_CRATE}/target",
        binary=f"{RUST_CRATE}/target/release/onnxruntime-ner",
    shell:
        "(mkdir -p {params.target:q} && (flock 9 && cargo build --release --locked --manifest-path {input.manifest:q}"
        " && cp {params.binary:q} {output:q}) 9>{params.target:q}/.nerbench-build.lock) > {log:q} 2>&1"
