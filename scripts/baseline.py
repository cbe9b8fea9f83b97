#!/usr/bin/env python3
"""baseline: transformers + PyTorch, batches formed by hand (the original benchmark's baseline)."""

import numpy as np
import torch

from nerlib.frame import backend_program, label_map
from nerlib.hf import TransformersEncoder
from nerlib.torch_device import load_torch_model, torch_device


class TorchBackend(TransformersEncoder):
    workers = 1
    io_binding = None  # torch copies to the device inside logits()

    def __init__(self, args):
        super().__init__(args.model)
        self.device = torch_device(args.device, args.threads)
        self.model = load_torch_model(args.model, self.device)
        self.id2label = label_map(self.model.config.to_dict())

    def logits(self, inputs: dict[str, np.ndarray], worker: int = 0) -> np.ndarray:
        # What the tokenizer returns (token_type_ids for BERT-like tokenizers), as a model expects.
        tensors = {name: torch.from_numpy(inputs[name]).to(self.device) for name in self.input_names}
        with torch.inference_mode():
            return self.model(**tensors).logits.float().cpu().numpy()


PROGRAM = backend_program(__doc__, "torch", TorchBackend)

if __name__ == "__main__":
    PROGRAM.main()
