#!/usr/bin/env python3
"""ort-hf: ONNX Runtime through optimum's ORTModelForTokenClassification on the optimum export,
in the frame of baseline (transformers tokenizer, batches formed by hand)."""

import numpy as np
from optimum.onnxruntime import ORTModelForTokenClassification

from nerlib.frame import MethodError, backend_program, label_map, read_model_config
from nerlib.hf import TransformersEncoder
from nerlib.ort_session import (
    add_session_arguments,
    check_providers,
    execution_providers,
    graph_inputs,
    graph_logits,
    session_options,
)


class OptimumBackend(TransformersEncoder):
    workers = 1
    io_binding = None  # optimum's own IO binding takes torch tensors only; the frame passes numpy arrays

    def __init__(self, args):
        super().__init__(args.model)
        self.id2label = label_map(read_model_config(args.model))
        provider = execution_providers(args.device)[0]
        name, options = provider if isinstance(provider, tuple) else (provider, None)
        try:
            self.model = ORTModelForTokenClassification.from_pretrained(
                args.model,
                provider=name,
                provider_options=options,
                session_options=session_options(args.threads, args.u8u8),
                use_io_binding=False,  # the frame passes numpy arrays, which IO binding refuses
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise MethodError(f"{args.model}: cannot load ONNX model: {str(error).splitlines()[0]}") from None
        check_providers(self.model.session, args.device)
        graph_logits(self.model.session, args.model)
        # Exactly the inputs the graph declares, from what the tokenizer gave.
        self.input_names = graph_inputs(self.model.session, args.model)

    def logits(self, inputs: dict[str, np.ndarray], worker: int = 0) -> np.ndarray:
        return self.model(**{name: inputs[name] for name in self.input_names}).logits


PROGRAM = backend_program(__doc__, "onnx", OptimumBackend, add_session_arguments)

if __name__ == "__main__":
    PROGRAM.main()
