# Every cell's predictions against the reference run and the gold labels, and the gate that
# fails the pipeline when an fp32 method disagrees or a cell failed.


rule check_cell:
    input:
        cell=results("cells/{method}/{device}-bs{batch_size}.json"),
        reference=results("reference.jsonl"),
        corpus=corpus_text(),
        gold=corpus_gold() or [],
        script=step("check_cell.py"),
    output:
        results("checks/{method}/{device}-bs{batch_size}.json"),
    log:
        results("logs/checks/{method}/{device}-bs{batch_size}.log"),
    conda:
        "../../envs/report.yaml"
    params:
        gold=f"--gold {shlex.quote(corpus_gold())}" if corpus_gold() else "",
        precision=lambda w: method_precision(w.method),
    shell:
        "python {input.script:q} --cell {input.cell:q} --reference {input.reference:q}"
        " --corpus {input.corpus:q} {params.gold} --precision {params.precision} --out {output:q}"
        " > {log:q} 2>&1"


rule verify:
    input:
        tables=results("tables.md"),
        checks=runnable_cells("checks"),
        script=step("verify.py"),
    output:
        results("verified.txt"),
    log:
        results("logs/verify.log"),
    conda:
        "../../envs/report.yaml"
    shell:
        "python {input.script:q} {output:q} {input.checks:q} 2> >(tee {log:q} >&2)"
