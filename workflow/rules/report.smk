# Aggregation of every cell into tables.md and summary.csv.


rule tables:
    input:
        cells=runnable_cells("cells"),
        checks=runnable_cells("checks"),
        model=model_dir("torch"),
        corpus=results("corpus.json"),
    output:
        tables=results("tables.md"),
        summary=results("summary.csv"),
    params:
        grid=json.dumps(grid()),
        results=results(),
    log:
        results("logs/tables.log"),
    conda:
        "../../envs/report.yaml"
    shell:
        "python {REPO}/scripts/aggregate.py --results {params.results:q} --grid {params.grid:q}"
        " --methods {REPO}/workflow/methods.yaml --model-info {input.model:q}/model_info.json"
        " --corpus-info {input.corpus:q} > {log:q} 2>&1"
