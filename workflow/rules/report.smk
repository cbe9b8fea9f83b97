# Aggregation of every cell into tables.md and summary.csv.


rule tables:
    input:
        cells=runnable_cells("cells"),
        checks=runnable_cells("checks"),
        model=model_dir("torch"),
        corpus=results("corpus.json"),
        script=script("aggregate.py"),
    output:
        tables=results("tables.md"),
        summary=results("summary.csv"),
    log:
        results("logs/tables.log"),
    conda:
        "../../envs/report.yaml"
    params:
        grid=json.dumps(grid()),
        results=lambda w, output: str(Path(output.tables).parent),
    shell:
        "python {input.script:q} --results {params.results:q} --grid {params.grid:q}"
        " --model-info {input.model:q}/model_info.json"
        " --corpus-info {input.corpus:q} > {log:q} 2>&1"
