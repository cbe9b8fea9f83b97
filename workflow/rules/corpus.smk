# The benchmark corpus (CoNLL-2003 by default, or the user's own text) and, for fine-tuning,
# the CoNLL-2003 training and development splits.


rule conll_corpus:
    input:
        script=step("conll.py"),
    output:
        text="data/{split}-{size}.txt",
        gold="data/{split}-{size}.gold",
    log:
        "logs/corpus/{split}-{size}.log",
    conda:
        "../../envs/data.yaml"
    params:
        sentences=lambda w: config["corpus"]["sentences"],
    shell:
        "python {input.script:q} corpus --split {wildcards.split:q}"
        " --sentences {params.sentences} --text {output.text:q} --gold {output.gold:q} > {log:q} 2>&1"


rule conll_split:
    input:
        script=step("conll.py"),
    output:
        "data/conll2003/{split}.jsonl",
    log:
        "logs/corpus/conll2003-{split}.log",
    conda:
        "../../envs/data.yaml"
    shell:
        "python {input.script:q} split --split {wildcards.split:q} --out {output:q} > {log:q} 2>&1"


rule inspect_corpus:
    """Reads the corpus as every method will, so a bad file stops the run before any timing."""
    input:
        corpus=corpus_text(),
        script=step("inspect_corpus.py"),
    output:
        results("corpus.json"),
    log:
        results("logs/inspect_corpus.log"),
    conda:
        "../../envs/data.yaml"
    shell:
        "python {input.script:q} {input.corpus:q} {output:q} > {log:q} 2>&1"
