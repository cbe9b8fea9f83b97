# One hyperfine job per (machine, method, device, batch size) cell, and the untimed reference
# run with its margins (how sure the reference was of each word-piece).


rule benchmark_cell:
    input:
        unpack(cell_inputs),
        **harness(),
    # The predictions and phases are outputs too: Snakemake removes stale ones before the job and
    # waits for them on a shared file system (--latency-wait) before a job that reads them.
    output:
        result=cell_file("result"),
        predictions=cell_file("predictions"),
        phases=cell_file("phases"),
    log:
        cell_file("log"),
    wildcard_constraints:
        **CELL_WILDCARDS,
    conda:
        lambda w: str(REPO / wildcard_cell(w).method.env)
    # All cores: Snakemake then never runs a timed cell beside any other job, whatever --cores;
    # on a cluster, the job has a node of its machine to itself.
    threads: machine_threads
    resources:
        **TIMED_JOB_RESOURCES,
    params:
        # What changes the measurement besides the input files, and nothing of other cells: a
        # new batch size, method or machine times only its own cells.
        settings=timing_settings,
        cell=cell_identity,
        command=cell_command,
    shell:
        "python {input.script:q} --settings {params.settings:q} --cell {params.cell:q} --command {params.command:q}"
        " --model {input.model:q} --out {output.result:q} --predictions {output.predictions:q}"
        " --phases {output.phases:q} --log {log:q}"
        " --quiet-start-s {resources.quiet_start_s} --quiet-share {resources.quiet_share} > {log:q} 2>&1"


rule reference_predictions:
    """What every cell is compared with: the registry's reference method on the CPU in fp32
    at batch size 1, through its own backend and the shared frame, with how far each label was
    below its best at every word-piece (so that the checks can tell a flipped near-tie from a fault).
    """
    input:
        # Not a results folder's corpus check: every results folder shares this run (a bad
        # corpus stops it with the frame's own one-line error).
        **program_inputs(REFERENCE),
        **step("checks/reference.py"),
        program=program(REFERENCE),
    output:
        predictions=GRID.reference_file("predictions"),
        gaps=GRID.reference_file("gaps"),
    log:
        GRID.reference_file("log"),
    conda:
        str(REPO / REFERENCE.env)
    threads: host_cores
    shell:
        "python {input.script:q} --program {input.program:q} -m {input.model:q}"
        " --predictions {output.predictions:q} --gaps {output.gaps:q} {input.corpus:q} > {log:q} 2>&1"


if GRID.rounds > 1:

    # Runs spread over the grid: each round of a cell is a timed job of its own, timed in its
    # machine's order (round after round, each shuffled: Grid.round_sequence) by priority. Not by
    # a chain of inputs: a job downstream of one that re-runs is never checked for its own changes.
    use rule benchmark_cell as benchmark_round with:
        output:
            result=round_file("result"),
            predictions=round_file("predictions"),
            phases=round_file("phases"),
        log:
            round_file("log"),
        wildcard_constraints:
            **CELL_WILDCARDS,
            round=r"\d+",
        priority: round_priority

    rule combine_rounds:
        """A cell's rounds as one result: every run, and what the host did during each."""
        input:
            **step("timing/combine_rounds.py"),
            rounds=round_files,
            last_predictions=lambda w: wildcard_cell(w).round_path(
                "predictions", GRID.rounds - 1
            ),
            last_phases=lambda w: wildcard_cell(w).round_path("phases", GRID.rounds - 1),
        output:
            result=cell_file("result"),
            predictions=cell_file("predictions"),
            phases=cell_file("phases"),
        log:
            cell_file("log"),
        wildcard_constraints:
            **CELL_WILDCARDS,
        conda:
            "../../envs/report.yaml"
        shell:
            "python {input.script:q} --out {output.result:q} --predictions {input.last_predictions:q}"
            " {output.predictions:q} --phases {input.last_phases:q} {output.phases:q} {input.rounds:q} > {log:q} 2>&1"

    ruleorder: combine_rounds > benchmark_cell
