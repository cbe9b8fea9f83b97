# Every cell's predictions against the reference run and the gold labels, and the gate that
# fails the pipeline when an fp32 method disagrees or a cell failed.


rule check_cell:
    input:
        **step("checks/check_cell.py"),
        cell=cell_file("result"),
        predictions=cell_file("predictions"),
        reference=GRID.reference_file("predictions"),
        gaps=GRID.reference_file("gaps"),
        corpus=GRID.corpus_text(),
        gold=GRID.corpus_gold() or [],
    output:
        cell_file("check"),
    log:
        cell_file("check_log"),
    wildcard_constraints:
        **CELL_WILDCARDS,
    conda:
        "../../envs/report.yaml"
    params:
        gold=f"--gold {shlex.quote(GRID.corpus_gold())}" if GRID.corpus_gold() else "",
        dtype=lambda w: wildcard_cell(w).method.dtype,
    shell:
        "python {input.script:q} --cell {input.cell:q} --predictions {input.predictions:q} --reference {input.reference:q}"
        " --gaps {input.gaps:q} --corpus {input.corpus:q} {params.gold} --dtype {params.dtype}"
        " --device {wildcards.device} --out {output:q}"
        " > {log:q} 2>&1"


rule verify:
    input:
        **step("checks/verify.py"),
        grid=results("grid.json"),
        tables=results("tables.md"),
        summary=results("summary.csv"),
        checks=runnable("check"),
    output:
        results("verified.txt"),
    log:
        results("logs/verify.log"),
    conda:
        "../../envs/report.yaml"
    shell:
        "python {input.script:q} --grid {input.grid:q} --summary {input.summary:q} {output:q} 2> >(tee {log:q} >&2)"
