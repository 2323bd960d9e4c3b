#!/bin/bash
# `sheaf bench` on every model of the shared corpus (its `compile:` lines)
# at batch 1, 64 and 4096: one line per model and batch, "model batch
# median_us". Run it for two builds on one quiet machine to compare them;
# a model that takes longer than SHEAF_BENCH_TIMEOUT seconds (120) prints
# the batches it finished.
# usage: bench_shared.sh SHEAF [BUDGET_SECONDS] [MODELS_DIR]
set -u
sheaf=$1 budget=${2:-0.3}
dir=${3:-$(dirname "${BASH_SOURCE[0]}")/../../shared/models}
for f in "$dir"/*.py; do
    grep -h '^# compile:' "$f" | sed 's/^# compile: //' | while read -r line; do
        eval "args=($line)"
        name=$(sed -E 's/^--model "?([^"]*)"?.*/\1/' <<<"$line")
        timeout "${SHEAF_BENCH_TIMEOUT:-120}" "$sheaf" bench "$f" "${args[@]}" --batch 1,64,4096 --budget "$budget" 2>/dev/null |
            sed -nE 's/^bench .* batch ([0-9]+): .*median ([0-9.]+) (us|ms).*/\1 \2 \3/p' |
            while read -r b v u; do
                [ "$u" = ms ] && v=$(awk "BEGIN{print $v*1000}")
                printf '%-34s %5s %10s\n' "$name" "$b" "$v"
            done
    done
done
