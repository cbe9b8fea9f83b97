# Serving scenarios (benchmark.scenarios offline, single-stream, server): each served method in one
# warm process under MLPerf's LoadGen (scripts/serve.py), alone on its machine like a timed cell,
# its accuracy run checked as a process cell's predictions are; and each machine's harness costs.


rule serve_cell:
    input:
        unpack(serving_inputs),
        **harness(),
    output:
        result=serving_file("result"),
        predictions=serving_file("predictions"),
        loadgen=directory(serving_file("loadgen")),
    log:
        serving_file("log"),
    wildcard_constraints:
        **SERVING_WILDCARDS,
    conda:
        lambda w: str(REPO / serving_cell(w).method.env)
    threads: machine_threads
    resources:
        **TIMED_JOB_RESOURCES,
    params:
        settings=lambda w: GRID.timing_settings(serving_cell(w), HYPERFINE),
        cell=lambda w: json.dumps(serving_cell(w).key._asdict()),
        command=serving_command,
        parallelism=lambda w: serving_cell(w).parallelism,
        best_of=lambda w: " ".join(
            shlex.quote(path) for path in best_of(serving_cell(w))
        ),
    shell:
        "python {input.script:q} --settings {params.settings:q} --cell {params.cell:q}"
        " --command {params.command:q} --model {input.model:q} --out {output.result:q}"
        " --predictions {output.predictions:q}"
        " --parallelism {params.parallelism:q} --best-of {params.best_of} --log {log:q}"
        " --quiet-start-s {resources.quiet_start_s} --quiet-share {resources.quiet_share} > {log:q} 2>&1"


use rule check_cell as check_serving with:
    input:
        **step("checks/check_cell.py"),
        cell=serving_file("result"),
        predictions=serving_file("predictions"),
        reference=GRID.reference_file("predictions"),
        gaps=GRID.reference_file("gaps"),
        corpus=GRID.corpus_text(),
        gold=GRID.corpus_gold() or [],
    output:
        serving_file("check"),
    log:
        serving_file("check_log"),
    wildcard_constraints:
        **SERVING_WILDCARDS,
    params:
        gold=f"--gold {shlex.quote(GRID.corpus_gold())}" if GRID.corpus_gold() else "",
        dtype=lambda w: serving_cell(w).method.dtype,


rule serving_overhead:
    """What the serving harness itself costs on a machine: LoadGen against a predictor that answers
    at once, in each scenario, and the Rust binary's pipe with requests of no sentence.
    """
    input:
        # serve.py alone, not run_cell.py's harness(): this job runs no cell.
        machine_inputs,
        program=GRID.registry.methods["onnxruntime-ner"]["program"],
        model=GRID.model_dir("onnx"),
        corpus=GRID.corpus_text(),
        script=str(REPO / SERVE),
        serve=serve_code(),
    output:
        results(MACHINE_FILES["serving_overhead"]),
    log:
        results(MACHINE_FILES["serving_overhead_log"]),
    wildcard_constraints:
        where=CELL_WILDCARDS["where"],
    conda:
        "../../envs/rust.yaml"
    threads: machine_threads
    resources:
        **TIMED_JOB_RESOURCES,
    params:
        min_duration_s=config["serving"]["min_duration_s"],
    shell:
        "python {input.script:q} --overhead --corpus {input.corpus:q} --out {output:q}"
        " --predictions /dev/null --log-dir - --min-duration-s {params.min_duration_s}"
        " -- {input.program:q} -d cpu -m {input.model:q} > {log:q} 2>&1"
