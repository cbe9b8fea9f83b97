"""nerlib: the shared core of the benchmarked Python methods (scripts/*.py).

Reading the corpus, the command line, batching and padding, the one decoding of token labels
into entities, the JSON Lines output, phase timings and atomic writes: everything a method does
except running its backend. A method file (scripts/baseline.py, scripts/ort-lean.py, ...) holds
only its backend; onnxruntime-ner/src/ re-implements this core in Rust, byte for byte.

Only nerlib/hf.py and nerlib/torch_device.py import transformers or torch, and only the methods
built on them import those two: importing is part of what hyperfine times, so a method that
does not need them must not pay for them. workflow/methods.yaml lists which modules each method
imports, so that editing one re-times only the methods that use it.
"""
