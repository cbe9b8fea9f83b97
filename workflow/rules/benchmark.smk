# One hyperfine job per (method, device, batch size) cell, and the untimed reference run.


rule benchmark_cell:
    input:
        unpack(lambda w: cell_inputs_for(w.method)),
        script=step("run_cell.py"),
    output:
        results("cells/{method}/{device}-bs{batch_size}.json"),
    log:
        results("logs/cells/{method}/{device}-bs{batch_size}.log"),
    wildcard_constraints:
        method=METHOD_PATTERN,
        device="cpu|cuda",
        batch_size=r"\d+",
    conda:
        lambda w: method_env(w.method)
    # All cores: Snakemake then never runs a timed cell beside any other job, whatever --cores.
    threads: workflow.cores
    params:
        program=lambda w: method_program(w.method),
        predictions=lambda w: results(
            f"predictions/{w.method}/{w.device}-bs{w.batch_size}.jsonl"
        ),
        phases=lambda w: results(f"phases/{w.method}/{w.device}-bs{w.batch_size}.json"),
        bench=config["benchmark"],
        config_sha256=CONFIG_SHA256,
        options=lambda w: method_options(w.method),
    shell:
        "python {input.script:q} --method {wildcards.method} --device {wildcards.device}"
        " --batch-size {wildcards.batch_size} --program {params.program:q} --model {input.model:q}"
        " --corpus {input.corpus:q} --out {output:q} --predictions {params.predictions:q}"
        " --phases {params.phases:q} --log {log:q} --warmup {params.bench[warmup]}"
        " --runs {params.bench[runs]} --threads {params.bench[threads]}"
        " --timeout {params.bench[timeout_s]} --config-sha256 {params.config_sha256} {params.options} > {log:q} 2>&1"


rule reference_predictions:
    """What every cell is compared with: baseline.py on the CPU in fp32 at batch size 1."""
    input:
        unpack(lambda w: cell_inputs_for("baseline")),
        script=script("baseline.py"),
    output:
        results("reference.jsonl"),
    log:
        results("logs/reference.log"),
    conda:
        "../../envs/torch.yaml"
    threads: workflow.cores
    shell:
        "python {input.script:q} -d cpu -b 1 -m {input.model:q} -o {output:q}"
        " {input.corpus:q} > {log:q} 2>&1"
