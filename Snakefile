# nerbench: time NER inference methods over a (method, device, batch size) grid with hyperfine,
# check that they agree and are correct, and tabulate. See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: f"{workflow.basedir}/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/rust.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/roofline.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/serving.smk"
include: "workflow/rules/report.smk"


# On a cluster these light jobs run where Snakemake runs; the timed cells, the roofline, the model
# build and the reference run go to the nodes (profiles/slurm).
localrules:
    all,
    conll_corpus,
    conll_split,
    inspect_corpus,
    grid,
    corpus_flops,
    check_cell,
    summary,
    tables,
    plots,
    verify,


rule all:
    input:
        serving_overheads(),
        results("tables.md"),
        results("summary.csv"),
        results("plots/time_vs_batch_size.png"),
        results("verified.txt"),
