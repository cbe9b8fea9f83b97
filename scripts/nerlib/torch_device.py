"""Choosing the torch device and thread count, shared by the torch methods."""

from pathlib import Path

import torch

from .model_dir import MethodError


def torch_device(device: str, threads: int) -> torch.device:
    torch.set_num_threads(threads)
    if device == "cuda" and not torch.cuda.is_available():
        raise MethodError("-d cuda: no usable CUDA device (torch.cuda.is_available() is False)")
    return torch.device(device)


def load_torch_model(model_dir: str, device: torch.device):
    from transformers import AutoModelForTokenClassification

    weights = Path(model_dir) / "model.safetensors"
    try:
        model = AutoModelForTokenClassification.from_pretrained(model_dir, use_safetensors=True)
    except Exception as error:  # safetensors, transformers and OS errors alike: name the file
        where = weights if weights.is_file() else Path(model_dir)
        raise MethodError(f"{where}: cannot load model: {str(error).splitlines()[0]}") from None
    return model.to(device).eval()
