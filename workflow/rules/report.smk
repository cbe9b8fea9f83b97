# Aggregation of every cell into tables.md, summary.csv and plots; the roofline reference.


rule roofline:
    """A machine's matrix-product peak per number format, and the model's FLOPs for this corpus
    at each batch size."""
    input:
        model=model_dir("onnx"),
        corpus=corpus_text(),
        script=step("roofline.py"),
    output:
        results("{where}roofline.json"),
    log:
        results("{where}logs/roofline.log"),
    wildcard_constraints:
        where=CELL_WILDCARDS["where"],
    conda:
        "../../envs/torch.yaml"
    # Alone on its machine, like a timed cell: the peaks are measurements too.
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
    params:
        batch_sizes=" ".join(str(b) for b in config["benchmark"]["batch_sizes"]),
        threads=config["benchmark"]["threads"],
    shell:
        "python {input.script:q} --model {input.model:q} --corpus {input.corpus:q}"
        " --batch-sizes {params.batch_sizes} --threads {params.threads} --out {output:q} > {log:q} 2>&1"


rule tables:
    input:
        cells=runnable("result"),
        checks=runnable("check"),
        model=normalised_model(),
        corpus=results("corpus.json"),
        rooflines=list(rooflines().values()),
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
    params:
        grid=json.dumps(grid()),
        rooflines=json.dumps(rooflines()),
        reference=REFERENCE_METHOD,
        results=lambda w, output: str(Path(output.tables).parent),
    shell:
        "python {input.script:q} --results {params.results:q} --grid {params.grid:q} --reference {params.reference}"
        " --model-info {input.model:q}/model_info.json --corpus-info {input.corpus:q}"
        " --rooflines {params.rooflines:q} > {log:q} 2>&1"


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
