# Each machine's matrix-product peaks (a timed measurement, alone on its machine like a cell) and
# the corpus's FLOPs at each batch size (a count): the roofline the tables put each cell against.


rule roofline:
    """A machine's matrix-product peak per number format: a measurement, alone on its machine
    like a timed cell, re-run only when its machine, threads or the model's shape change.
    """
    input:
        machine_inputs,
        **step("timing/roofline.py"),
        model=GRID.model_dir("onnx"),
    output:
        results(MACHINE_FILES["roofline"]),
    log:
        results(MACHINE_FILES["roofline_log"]),
    wildcard_constraints:
        where=CELL_WILDCARDS["where"],
    conda:
        "../../envs/torch.yaml"
    threads: machine_threads
    resources:
        **TIMED_JOB_RESOURCES,
    params:
        threads=config["benchmark"]["threads"],
        square=config["benchmark"]["roofline_square"],
        machine=lambda w: json.dumps(
            GRID.machine_at(w.where).measured_entry, sort_keys=True
        ),
    shell:
        "python {input.script:q} --model {input.model:q} --threads {params.threads}"
        " --square {params.square} --quiet-start-s {resources.quiet_start_s}"
        " --quiet-share {resources.quiet_share} --out {output:q} > {log:q} 2>&1"


rule corpus_flops:
    """The model's FLOPs for the corpus at each batch size, padding included: counted, not timed."""
    input:
        **step("report/flops.py"),
        model=GRID.model_dir("onnx"),
        corpus=GRID.corpus_text(),
    output:
        results("flops.json"),
    log:
        results("logs/flops.log"),
    conda:
        "../../envs/ort.yaml"
    params:
        batch_sizes=" ".join(str(b) for b in sorted(config["benchmark"]["batch_sizes"])),
    shell:
        "python {input.script:q} --model {input.model:q} --corpus {input.corpus:q}"
        " --batch-sizes {params.batch_sizes} --out {output:q} > {log:q} 2>&1"
