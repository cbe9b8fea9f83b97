#!/usr/bin/env python3
"""baseline: transformers + PyTorch, batches formed by hand (the original benchmark's baseline)."""

import numpy as np
import torch
from nerlib.frame import label_map, run
from nerlib.hf import TransformersEncoder
from nerlib.torch_device import load_torch_model, torch_device


class TorchBackend(TransformersEncoder):
    def __init__(self, args):
        super().__init__(args.model)
        self.device = torch_device(args.device, args.threads)
        self.model = load_torch_model(args.model, self.device)
        self.id2label = label_map(self.model.config.to_dict())

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            output = self.model(
                input_ids=torch.from_numpy(input_ids).to(self.device),
                attention_mask=torch.from_numpy(attention_mask).to(self.device),
            )
        return output.logits.float().cpu().numpy()


if __name__ == "__main__":
    run(__doc__, TorchBackend)
