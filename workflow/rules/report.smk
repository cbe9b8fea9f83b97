# The grid in a file; each machine's peaks and the corpus's FLOPs (the roofline); every cell
# aggregated into tables.md, summary.csv and plots.


rule grid:
    """The grid for the steps that cover all of it (tables, verify), in a file: a command line
    would grow with the grid past what Linux takes. Re-made when the config changes."""
    output:
        results("grid.json"),
    log:
        results("logs/grid.log"),
    params:
        manifest=json.dumps(GRID.manifest(), sort_keys=True),
    run:
        write_manifest(output[0], params.manifest)


rule roofline:
    """A machine's matrix-product peak per number format: a measurement, alone on its machine
    like a timed cell, re-run only when its machine, threads or the model's shape change.
    """
    input:
        machine_inputs,
        model=GRID.model_dir("onnx"),
        script=step("roofline.py"),
        speed_probe=step("speed_probe.py"),
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
        slurm_partition=machine_resources("slurm_partition"),
        slurm_account=machine_resources("slurm_account"),
        slurm_extra=machine_resources("slurm_extra"),
        cpus_per_task=machine_resources("cpus_per_task"),
        mem_mb=machine_resources("mem_mb"),
        runtime=machine_resources("runtime"),
        gpu=machine_resources("gpu"),
        gres=machine_resources("gres"),
        quiet_start_s=quiet_start("quiet_start_s"),
        quiet_share=quiet_start("quiet_share"),
    params:
        threads=config["benchmark"]["threads"],
        square=config["benchmark"]["roofline_square"],
        machine=lambda w: json.dumps(
            GRID.machine_at(w.where).measured_entry, sort_keys=True
        ),
    shell:
        "python {input.script:q} peaks --model {input.model:q} --threads {params.threads}"
        " --square {params.square} --quiet-start-s {resources.quiet_start_s}"
        " --quiet-share {resources.quiet_share} --out {output:q} > {log:q} 2>&1"


rule corpus_flops:
    """The model's FLOPs for the corpus at each batch size, padding included: counted, not timed."""
    input:
        model=GRID.model_dir("onnx"),
        corpus=GRID.corpus_text(),
        script=step("roofline.py"),
    output:
        results("flops.json"),
    log:
        results("logs/flops.log"),
    conda:
        "../../envs/ort.yaml"
    params:
        batch_sizes=" ".join(str(b) for b in sorted(config["benchmark"]["batch_sizes"])),
    shell:
        "python {input.script:q} flops --model {input.model:q} --corpus {input.corpus:q}"
        " --batch-sizes {params.batch_sizes} --out {output:q} > {log:q} 2>&1"


rule tables:
    input:
        grid=results("grid.json"),
        cells=runnable("result"),
        phases=runnable("phases"),
        checks=runnable("check"),
        model=GRID.normalised_model(),
        corpus=results("corpus.json"),
        flops=results("flops.json"),
        rooflines=list(GRID.rooflines().values()),
        script=step("aggregate.py"),
    output:
        tables=report(
            results("tables.md"),
            caption="../report/tables.rst",
            category="Tables",
        ),
        summary=results("summary.csv"),
    log:
        results("logs/tables.log"),
    conda:
        "../../envs/report.yaml"
    shell:
        "python {input.script:q} --grid {input.grid:q} --model-info {input.model:q}/model_info.json"
        " --corpus-info {input.corpus:q} --flops {input.flops:q} > {log:q} 2>&1"


rule plots:
    input:
        summary=results("summary.csv"),
        script=step("plots.py"),
    output:
        report(
            results("plots/time_vs_batch_size.png"),
            caption="../report/time_vs_batch_size.rst",
            category="Plots",
        ),
        report(
            results("plots/phases.png"),
            caption="../report/phases.rst",
            category="Plots",
        ),
        report(
            results("plots/accuracy_vs_time.png"),
            caption="../report/accuracy_vs_time.rst",
            category="Plots",
        ),
    log:
        results("logs/plots.log"),
    conda:
        "../../envs/report.yaml"
    params:
        out_dir=lambda w, output: str(Path(output[0]).parent),
    shell:
        "python {input.script:q} {input.summary:q} {params.out_dir:q} > {log:q} 2>&1"
