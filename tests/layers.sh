#!/bin/bash
# scripts/check_layers.sh passes on the tree and fails, naming the line, on
# a tree with an upward include and on one with an include without a layer.
set -u
src=$1
check=$src/scripts/check_layers.sh
bash "$check" "$src" || { echo "FAIL: the tree breaks its layers"; exit 1; }
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ir" "$tmp/runtime"
touch "$tmp/runtime/model.h" "$tmp/ir/ir.h"
printf '#include "ir/ir.h"\n#include "runtime/model.h"\n' >"$tmp/ir/up.c"
out=$(bash "$check" "$tmp") && { echo "FAIL: an upward include passed"; exit 1; }
grep -q 'ir/up.c:2: ir/ includes "runtime/model.h": runtime/ is above ir/' <<<"$out" ||
    { echo "FAIL: wrong message: $out"; exit 1; }
printf '#include "ir.h"\n' >"$tmp/ir/up.c"
out=$(bash "$check" "$tmp") && { echo "FAIL: an include without its layer passed"; exit 1; }
grep -q 'ir/up.c:1: "ir.h" does not name its layer' <<<"$out" || { echo "FAIL: wrong message: $out"; exit 1; }
echo "ok: layers hold, and an upward or unnamed include is refused by line"
