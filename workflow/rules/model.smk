# The model (built, downloaded or copied into one normalised directory) and its ONNX export.


def model_build_args():
    model = config["model"]
    source = model["source"]
    args = ["--source", source]
    if source == "finetune":
        tune = model["finetune"]
        args += ["--seed", tune["seed"], "--epochs", tune["epochs"]]
        args += ["--learning-rate", tune["learning_rate"], "--batch-size", tune["batch_size"]]
        args += ["--max-train-sentences", tune["max_train_sentences"]]
        args += ["--max-dev-sentences", tune["max_dev_sentences"]]
        args += ["--train", "data/conll2003/train.jsonl", "--dev", "data/conll2003/valid.jsonl"]
    elif source == "random":
        args += ["--preset", model["random"]["preset"], "--seed", model["random"]["seed"]]
    elif source == "hub":
        args += ["--hub-id", model["hub"]["id"], "--revision", model["hub"]["revision"]]
    else:
        args += ["--path", model["local"]["path"]]
    if model["allow_pickle"]:
        args.append("--allow-pickle")
    return " ".join(shlex.quote(str(arg)) for arg in args)


def model_build_inputs(wildcards):
    if config["model"]["source"] == "finetune":
        return ["data/conll2003/train.jsonl", "data/conll2003/valid.jsonl"]
    return []


rule build_model:
    input:
        model_build_inputs,
        script=f"{REPO}/scripts/build_model.py",
    output:
        directory(model_dir("torch")),
    params:
        args=model_build_args(),
    log:
        f"logs/models/{config['model']['name']}-build.log",
    threads: workflow.cores
    conda:
        "../../envs/torch.yaml"
    shell:
        "python {input.script:q} {params.args} --out {output:q} > {log:q} 2>&1"


rule export_onnx:
    input:
        model_dir("torch"),
    output:
        directory(model_dir("onnx")),
    log:
        f"logs/models/{config['model']['name']}-export.log",
    conda:
        "../../envs/torch.yaml"
    shell:
        "HF_HUB_OFFLINE=1 optimum-cli export onnx --model {input:q} --task token-classification"
        " {output:q} > {log:q} 2>&1"
