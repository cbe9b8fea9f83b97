# The model (built, downloaded or copied into one normalised directory), its ONNX export and the
# export's variants, and its CTranslate2 conversions; a user's ONNX export alone (model.local.path
# with model.onnx) is copied to the ONNX directory.


rule build_model:
    input:
        model_build_inputs,
        **step("model/build_model.py"),
    output:
        directory(GRID.normalised_model()),
    log:
        f"logs/models/{config['model']['name']}-build.log",
    priority: PREPARATION_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: host_cores
    params:
        args=model_build_args(),
    shell:
        "python {input.script:q} {params.args} --out {output:q} > {log:q} 2>&1"


if GRID.model_format == "torch":

    rule export_onnx:
        input:
            GRID.model_dir("torch"),
        output:
            directory(GRID.model_dir("onnx")),
        log:
            f"logs/models/{config['model']['name']}-export.log",
        priority: PREPARATION_PRIORITY
        conda:
            "../../envs/torch.yaml"
        shell:
            "HF_HUB_OFFLINE=1 optimum-cli export onnx --model {input:q} --task token-classification"
            " {output:q} > {log:q} 2>&1"

    rule convert_ct2:
        """The CTranslate2 conversion ct2-lean reads: float32 (ct2), int8 (ct2-int8)."""
        input:
            **step("model/convert_ct2.py"),
            model=GRID.model_dir("torch"),
        output:
            directory(GRID.model_dir("{ct2_folder}")),
        log:
            f"logs/models/{config['model']['name']}-convert-{{ct2_folder}}.log",
        wildcard_constraints:
            ct2_folder="|".join(GRID.registry.model_folders("ct2")),
        priority: PREPARATION_PRIORITY
        conda:
            "../../envs/torch.yaml"
        params:
            # What CTranslate2 converts (methods.yaml): a param, so that editing another part of
            # the registry converts nothing again.
            model_types=" ".join(GRID.registry.methods["ct2-lean"]["model_types"]),
        shell:
            "python {input.script:q} {input.model:q} {wildcards.ct2_folder} {output:q}"
            " --model-types {params.model_types} > {log:q} 2>&1"


rule export_variant:
    """Graph-optimised (O2, O3), fp16 (O4, CUDA) and int8 variants of the export; the static int8
    ones calibrated on CoNLL-2003 train sentences."""
    input:
        **step("model/export_variant.py"),
        export=GRID.model_dir("onnx"),
        calibration=layout.TRAIN_SPLIT,
    output:
        directory(GRID.model_dir("onnx-{variant}")),
    log:
        f"logs/models/{config['model']['name']}-export-{{variant}}.log",
    wildcard_constraints:
        variant="|".join(GRID.registry.variants),
    priority: PREPARATION_PRIORITY
    conda:
        "../../envs/torch.yaml"
    shell:
        "python {input.script:q} {input.export:q} {wildcards.variant} {output:q}"
        " --calibration {input.calibration:q} > {log:q} 2>&1"
