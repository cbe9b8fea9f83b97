# The Rust method's binary: cargo build --release --locked, copied into the working directory
# so its cells depend on it (editing the Rust source rebuilds and re-times only those cells).

RUST_CRATE = REPO / "onnxruntime-ner"


rule build_rust:
    input:
        manifest=f"{RUST_CRATE}/Cargo.toml",
        lock=f"{RUST_CRATE}/Cargo.lock",
        sources=sorted(str(p) for p in (RUST_CRATE / "src").glob("*.rs")),
        compiled_in=script("nerlib/positions.json"),
    output:
        "bin/onnxruntime-ner",
    log:
        "logs/build_rust.log",
    conda:
        "../../envs/rust.yaml"
    threads: workflow.cores
    params:
        binary=f"{RUST_CRATE}/target/release/onnxruntime-ner",
    shell:
        "(cargo build --release --locked --manifest-path {input.manifest:q}"
        " && cp {params.binary:q} {output:q}) > {log:q} 2>&1"
