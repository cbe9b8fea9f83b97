# The grid in a file; every cell gathered into summary.csv, then tables.md and the plots.


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


rule summary:
    """Every cell of the grid as a row of summary.csv, and where each machine's cells ran."""
    input:
        **step("report/gather.py"),
        grid=results("grid.json"),
        cells=runnable("result"),
        phases=runnable("phases"),
        checks=runnable("check"),
        flops=results("flops.json"),
        rooflines=list(GRID.rooflines().values()),
    output:
        summary=results("summary.csv"),
        environment=results("environment.json"),
    log:
        results("logs/summary.log"),
    conda:
        "../../envs/report.yaml"
    shell:
        "python {input.script:q} --grid {input.grid:q} --flops {input.flops:q} > {log:q} 2>&1"


rule tables:
    input:
        **step("report/tables.py"),
        grid=results("grid.json"),
        summary=results("summary.csv"),
        checks=runnable("check"),
        model=GRID.normalised_model(),
        corpus=results("corpus.json"),
        rooflines=list(GRID.rooflines().values()),
    output:
        tables=results("tables.md"),
        html=report(
            results("tables.html"),
            caption="../report/tables.rst",
            category="Tables",
        ),
    log:
        results("logs/tables.log"),
    conda:
        "../../envs/report.yaml"
    shell:
        "python {input.script:q} --grid {input.grid:q} --summary {input.summary:q}"
        " --model-info {input.model:q}/model_info.json --corpus-info {input.corpus:q} > {log:q} 2>&1"


rule plots:
    input:
        **step("report/plots.py"),
        summary=results("summary.csv"),
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
