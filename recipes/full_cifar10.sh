#!/usr/bin/env bash
# The full CIFAR-10 recipe: the networks of Li and Wang (003) trained on one GPU, then measured.
#
#   bash recipes/full_cifar10.sh                                  # the real run (one CUDA GPU)
#   STEPS=50 WIDTH=8 DATA=samples bash recipes/full_cifar10.sh    # a smoke test on a CPU, a couple of minutes
#
# 1. python data_scripts/get_cifar10.py   (skipped unless DATA=cifar10; a second run does nothing)
# 2. colorlab train, three times, at width 64 (003's network, Figure 4) on all 50,000 training images of 32 px:
#      $RUNS/regression_l2.pt     regression CNN, L2 (mse) loss           (003's regression; 000's UV loss)
#      $RUNS/regression_blur.pt   regression CNN, Dahl's blur loss        (004)
#      $RUNS/classification.pt    classification CNN, 313 bins, rebalancing lambda 0.5  (Zhang et al.)
#      $RUNS/classification_plain.pt  the same without rebalancing                       (003)
#    each with --resume: run the script again and an interrupted training continues where it stopped
#    (a finished one is left as it is).
# 3. colorlab evaluate on the 10,000 test images: UV loss, AuC, rebalanced AuC, colorfulness and the
#    semantic test of 003 (on CIFAR-10 colorlab's reference judge, a classifier trained on the colour
#    training images, fed gray, each method's output and the truth), each with its 95 % bootstrap
#    interval, and the verdict on each of the papers' orderings: a Markdown table, printed and kept with
#    the rest of the output in $RUNS/evaluation.txt, and the same figures in $RUNS/evaluation.json.
#
# The settings: batch 128 as 003; 40,000 steps = 100 epochs of 50,000 images, as 003; Adam from 1e-3,
# halved every 10,000 steps (000 halves every 3,000 steps of a shorter run; colorlab's default lr), so
# the last quarter runs at 1.25e-4, about 003's 1e-4. TIME_LIMIT caps each training at an hour of
# training time: from a FLOP count (~12 GFLOP per image and step for the width-64 regression network at
# 32 px, a third of that for classification) one H100 should need well under that, a smaller GPU about
# that; a training stopped by the cap is continued by running the script again (--resume).
# FIGURES PENDING A GPU RUN: neither the timings nor the table of this recipe have been measured yet
# (no GPU was available); put the printed table into the README when they have.
#
# Every setting below can be changed from the environment, e.g. `WIDTH=32 STEPS=20000 bash recipes/...`.
set -euo pipefail
cd "$(dirname "$0")/.."   # the top of the checkout: data/ and runs/ live there

DATA=${DATA:-cifar10}            # cifar10, samples (the embedded photos, for a smoke test) or a folder of photos
SIZE=${SIZE:-32}                 # CIFAR-10 is 32x32
WIDTH=${WIDTH:-64}               # 64 is the paper's network (about 33 M parameters for regression)
STEPS=${STEPS:-40000}            # optimiser steps per network (100 epochs of 50,000 images at batch 128)
BATCH=${BATCH:-128}              # 003's batch size
LR=${LR:-1e-3}                   # Adam's starting learning rate
HALVE_EVERY=${HALVE_EVERY:-10000}  # halve the learning rate every this many steps
TIME_LIMIT=${TIME_LIMIT:-3600}   # seconds of training per network at most (not SECONDS: bash owns that name)
COUNT=${COUNT:-}                 # training images; empty: all (50,000 of CIFAR-10, 1000 patches of the samples)
TEST_COUNT=${TEST_COUNT:-}       # held-out images; empty: all (10,000 of CIFAR-10, 1000 patches of the samples)
if [ "$DATA" = cifar10 ]; then default_semantic=5000; else default_semantic=400; fi
SEMANTIC_STEPS=${SEMANTIC_STEPS:-$default_semantic}  # the semantic classifier's steps (batch 64)
SEED=${SEED:-0}
RUNS=${RUNS:-runs}               # where the checkpoints and the evaluation go
PYTHON=${PYTHON:-python}
COLORLAB=${COLORLAB:-colorlab}

echo "full_cifar10: data $DATA, size $SIZE, width $WIDTH, $STEPS steps of batch $BATCH, lr $LR halved every" \
     "$HALVE_EVERY steps, at most $TIME_LIMIT s per network; checkpoints in $RUNS/"

if [ "$DATA" = cifar10 ]; then
  # Download into data/, where colorlab looks, unless colorlab already finds CIFAR-10 ($COLORLAB_DATA, data/, in
  # either layout: the official binary files or a labelled folder such as the JPEG copy decoded for development).
  if ! "$PYTHON" -c "import sys; from colorlab.data import find_cifar10; sys.exit(find_cifar10() is None)"; then
    "$PYTHON" data_scripts/get_cifar10.py
  fi
fi

count_args=()
if [ -n "$COUNT" ]; then count_args=(--count "$COUNT"); fi
test_count_args=()
if [ -n "$TEST_COUNT" ]; then test_count_args=(--count "$TEST_COUNT"); fi

mkdir -p "$RUNS"
train() {  # train NAME ARGS...: one network to $RUNS/NAME.pt, resumed if it is there
  local name=$1
  shift
  echo
  echo "== $name"
  "$COLORLAB" train "$@" --width "$WIDTH" --data "$DATA" --size "$SIZE" ${count_args[@]+"${count_args[@]}"} \
    --steps "$STEPS" --batch-size "$BATCH" --lr "$LR" --halve-every "$HALVE_EVERY" --seconds "$TIME_LIMIT" \
    --seed "$SEED" --resume --out "$RUNS/$name.pt"
}
train regression_l2 --model regression --loss mse
train regression_blur --model regression --loss blur
train classification --model classification --rebalance 0.5
train classification_plain --model classification --rebalance -1

echo
echo "== evaluation"
# the three checkpoints of this recipe by name (runs/*.pt would also pick up any other run kept there)
"$COLORLAB" evaluate "$RUNS/regression_l2.pt" "$RUNS/regression_blur.pt" "$RUNS/classification.pt" \
  "$RUNS/classification_plain.pt" \
  --data "$DATA" --size "$SIZE" ${test_count_args[@]+"${test_count_args[@]}"} --semantic-steps "$SEMANTIC_STEPS" \
  --seed "$SEED" --json "$RUNS/evaluation.json" | tee "$RUNS/evaluation.txt"
