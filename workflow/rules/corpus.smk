# The benchmark corpus (CoNLL-2003 by default, or the user's own text) and, for fine-tuning,
# the CoNLL-2003 training and development splits.


rule conll_corpus:
    input:
        **step("corpus/conll.py"),
    output:
        text=f"{layout.CORPUS}.txt",
        gold=f"{layout.CORPUS}.gold",
    log:
        "logs/corpus/{split}-{size}.log",
    # Only the names the pipeline gives its corpora: a user's data/news-2024.txt is not this
    # rule's output, which Snakemake would remove before running the rule again.
    wildcard_constraints:
        **layout.CORPUS_WILDCARDS,
    priority: PREPARATION_PRIORITY
    conda:
        "../../envs/data.yaml"
    params:
        sentences=lambda w: layout.corpus_sentences(w.size),
    shell:
        "python {input.script:q} corpus --split {wildcards.split:q}"
        " --sentences {params.sentences} --text {output.text:q} --gold {output.gold:q} > {log:q} 2>&1"


rule conll_split:
    input:
        **step("corpus/conll.py"),
    output:
        layout.CONLL_SPLIT,
    log:
        "logs/corpus/conll2003-{split}.log",
    wildcard_constraints:
        split="train|valid|test",
    priority: PREPARATION_PRIORITY
    conda:
        "../../envs/data.yaml"
    shell:
        "python {input.script:q} split --split {wildcards.split:q} --out {output:q} > {log:q} 2>&1"


rule inspect_corpus:
    """Reads the corpus as every method will, so a bad file stops the run before any timing."""
    input:
        **step("corpus/inspect_corpus.py"),
        corpus=GRID.corpus_text(),
    output:
        results("corpus.json"),
    log:
        results("logs/inspect_corpus.log"),
    priority: PREPARATION_PRIORITY
    conda:
        "../../envs/data.yaml"
    shell:
        "python {input.script:q} {input.corpus:q} {output:q} > {log:q} 2>&1"
