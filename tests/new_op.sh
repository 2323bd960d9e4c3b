#!/bin/bash
# A throwaway op (ir/ops.def under -DSF_TEST_THROWAWAY_OP) that no consumer
# knows: every file that must answer for each op fails to compile, naming
# the op, and every other file still compiles. This is what makes "add an
# op" a checklist the compiler enforces (docs/architecture.md).
# usage: new_op.sh CC SOURCE_DIR [LLVM_INCLUDE_DIR]
set -u
cc=$1 src=$2 llvm=${3:-}
# the files with one rule per op; each must refuse the throwaway op
consumers="ir/shape.c codegen/cuda_emit.c codegen/cuda_unary.c passes/grad_rules.c"
[ -n "$llvm" ] && consumers="$consumers codegen/cpu_emit.c codegen/cpu_unary.c"
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -DSF_TEST_THROWAWAY_OP -fsyntax-only -Wall -Wextra -Werror
       -I"$src" -I"$src/include")
[ -n "$llvm" ] && flags+=(-isystem "$llvm")
bad=0 checked=0
log=$(mktemp) && trap 'rm -f "$log"' EXIT
for f in "$src"/ir/*.c "$src"/passes/*.c "$src"/codegen/*.c "$src"/runtime/*.c "$src"/frontend/*.c "$src"/tools/*.c; do
    rel=${f#"$src"/}
    case $rel in
    codegen/cpu_*.c | runtime/cpu_jit.c | runtime/cpu_exec.c | runtime/elf_check.c) [ -z "$llvm" ] && continue ;;
    runtime/cpu_none.c) [ -n "$llvm" ] && continue ;;
    esac
    checked=$((checked + 1))
    if "$cc" "${flags[@]}" "$f" >"$log" 2>&1; then
        if [[ " $consumers " == *" $rel "* ]]; then
            echo "FAIL: $rel compiles with an op it has no rule for"
            bad=1
        fi
    elif [[ " $consumers " == *" $rel "* ]]; then
        if ! grep -q THROWAWAY "$log"; then
            echo "FAIL: $rel fails, but not by naming the missing op:"; head -5 "$log"; bad=1
        else
            echo "ok: $rel refuses the op: $(grep -m1 THROWAWAY "$log" | sed 's/^.*error: //')"
        fi
    else
        echo "FAIL: $rel should compile with the extra op:"; head -10 "$log"; bad=1
    fi
done
# the interpreter's kernels live in two files behind one header of
# prototypes, so its table compiles and the build fails at the link
obj=$(mktemp -d) && trap 'rm -rf "$log" "$obj"' EXIT
for f in interp interp_nn; do
    "$cc" "${flags[@]/-fsyntax-only/-c}" -o "$obj/$f.o" "$src/ir/$f.c" || bad=1
done
if nm -u "$obj/interp.o" | grep -q sf_k_THROWAWAY && ! nm --defined-only "$obj"/*.o | grep -q sf_k_THROWAWAY; then
    echo "ok: ir/interp.c refuses the op at the link: sf_k_THROWAWAY is used and defined nowhere"
else
    echo "FAIL: the interpreter's table does not need sf_k_THROWAWAY"; bad=1
fi
echo "$checked files checked; consumers: $consumers ir/interp.c"
exit $bad
