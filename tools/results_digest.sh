#!/usr/bin/env bash
# Runs small searches and trainings of several network configurations on Fashion-MNIST (one
# thread, fixed seeds) and prints tools/run_digest.py's digest of every checkpoint tensor and genotype.
# Run it before and after a change that must not change results, and diff the outputs.
#
# usage: [DEVICE=cuda:0] tools/results_digest.sh BNAS_ENGINE [DATA_DIR] > digest.txt
set -euo pipefail
cli=$1
data=${2:-/usr/share/datasets/fashion-mnist}
device=${DEVICE:-cpu}  # DEVICE=cuda:0: the same runs on the GPU (or the emulated device)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(fashion-mnist --device "$device" --threads 1 --data "$data" --subset 120 --seed 7)
run() {  # run NAME ARGS...: one run into $work/NAME, quiet unless it fails
  local name=$1
  shift
  "$cli" "$@" --out "$work/$name" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
}
run pc-first search "${common[@]}" --preset bnas-v2-pc --channels 8 --epochs 2 --batch 20 --arch-start-epoch 1
run full-second search "${common[@]}" --preset bnas-d --channels 4 --epochs 1 --batch 20 --unrolled true
run clr search "${common[@]}" --preset bnas-v2-clr --channels 4 --epochs 2 --batch 30
run pc2-deeper search "${common[@]}" --preset bnas-v2-pc --channels 8 --pc-k 2 --layers 4 --en-layers 2 --epochs 1 --batch 20
run train-found train "${common[@]}" --genotype "$work/pc-first" --channels 8 --layers 2 --en-layers 1 --epochs 2 --batch 20 --test-subset 50
run train-published train "${common[@]}" --genotype BNASv2_CLR_v1 --channels 6 --layers 4 --en-layers 2 --epochs 1 --batch 30 --test-subset 50
python3 "$(dirname "$0")/run_digest.py" "$work"/pc-first "$work"/full-second "$work"/clr "$work"/pc2-deeper \
  "$work"/train-found "$work"/train-published
