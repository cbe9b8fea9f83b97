# The Rust method's binary: cargo build --release --locked, copied into the working directory
# so its cells depend on it (editing the Rust source rebuilds and re-times only those cells).

RUST_CRATE = REPO / "onnxruntime-ner"


rule build_rust:
    input:
        manifest=f"{RUST_CRATE}/Cargo.toml",
        lock=f"{RUST_CRATE}/Cargo.lock",
        sources=sorted(str(p) for p in (RUST_CRATE / "src").glob("*.rs")),
    output:
        "bin/onnxruntime-ner",
    log:
        "logs/build_rust.log",
    threads: workflow.cores
    conda:
        "../../envs/rust.yaml"
    shell:
        "(cargo build --release --locked --manifest-path {input.manifest:q}"
        " && cp {RUST_CRATE}/target/release/onnxruntime-ner {output:q}) > {log:q} 2>&1"
