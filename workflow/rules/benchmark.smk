# One hyperfine job per (method, device, batch size) cell, and the untimed reference run.


rule benchmark_cell:
    input:
        unpack(cell_inputs),
        script=step("run_cell.py"),
    output:
        cell_file("result"),
    log:
        cell_file("log"),
    wildcard_constraints:
        **CELL_WILDCARDS,
    conda:
        lambda w: method_env(w.method)
    # All cores: Snakemake then never runs a timed cell beside any other job, whatever --cores.
    threads: workflow.cores
    params:
        cell=wildcard_cell,
        bench=config["benchmark"],
        config_sha256=CONFIG_SHA256,
        sort=lambda w: "--sort" if wildcard_cell(w)["sort"] else "",
    shell:
        "python {input.script:q} --method {wildcards.method} --device {wildcards.device}"
        " --batch-size {wildcards.batch_size} --program {params.cell[executable]:q} --model {input.model:q}"
        " --corpus {input.corpus:q} --out {output:q} --predictions {params.cell[predictions]:q}"
        " --phases {params.cell[phases]:q} --log {log:q} --warmup {params.bench[warmup]}"
        " --runs {params.bench[runs]} --threads {params.bench[threads]}"
        " --timeout {params.bench[timeout_s]} --config-sha256 {params.config_sha256} {params.sort} > {log:q} 2>&1"


rule reference_predictions:
    """What every cell is compared with: the registry's reference method on the CPU in fp32
    at batch size 1."""
    input:
        **method_inputs(REFERENCE_METHOD),
        program=method_program(REFERENCE_METHOD),
    output:
        results("reference.jsonl"),
    log:
        results("logs/reference.log"),
    conda:
        method_env(REFERENCE_METHOD)
    threads: workflow.cores
    shell:
        "python {input.program:q} -d cpu -b 1 -m {input.model:q} -o {output:q}"
        " {input.corpus:q} > {log:q} 2>&1"
