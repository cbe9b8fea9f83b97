# Aggregation of every cell into tables.md, summary.csv and plots; the roofline reference.


rule roofline:
    """The fp32 GEMM peak and the model's FLOPs for this corpus at each batch size."""
    input:
        model=model_dir("onnx"),
        corpus=corpus_text(),
        script=step("roofline.py"),
    output:
        results("roofline.json"),
    log:
        results("logs/roofline.log"),
    conda:
        "../../envs/torch.yaml"
    # Alone, like a timed cell: the GEMM peak is a measurement too.
    threads: workflow.cores
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
        roofline=results("roofline.json"),
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
        reference=REFERENCE_METHOD,
        results=lambda w, output: str(Path(output.tables).parent),
    shell:
        "python {input.script:q} --results {params.results:q} --grid {params.grid:q} --reference {params.reference}"
        " --model-info {input.model:q}/model_info.json --corpus-info {input.corpus:q}"
        " --roofline {input.roofline:q} > {log:q} 2>&1"


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
