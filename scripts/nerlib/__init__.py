"""What every benchmarked NER program shares: the corpus reader, the command line, batching,
the one decoding of token labels into entities, the JSON Lines output and phase timings.

A method file (scripts/baseline.py, scripts/ort-hf.py, ...) holds only its backend. Nothing here
imports torch or transformers: importing is part of what hyperfine times, so a method that does
not need them must not pay for them.
"""
