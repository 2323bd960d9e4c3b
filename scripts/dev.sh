#!/usr/bin/env bash
# sheaf's one entry point for set-up, building and testing.
#
#   scripts/dev.sh demo    install what is missing, build, compile seed 003's ParallelFCN(1000) to a package, run and bench it
#   scripts/dev.sh test    install what is missing, build, run the whole test suite (ctest, then the Python
#                          package's pytest in a venv outside the clone: scripts/python_tests.sh)
#   scripts/dev.sh asan    the test suite built with AddressSanitizer + UBSan (clang or gcc), the pool under TSan
#   scripts/dev.sh fuzz [SECONDS]   build the libFuzzer targets with clang and run each
#   scripts/dev.sh coverage   line coverage of codegen/ and runtime/cpu_* under the random differential tests alone
#
# Missing Debian packages are installed with apt-get when run as root;
# otherwise the script says which ones to install and stops.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)

need_packages() {
    local missing=()
    command -v cmake >/dev/null || missing+=(cmake)
    command -v cc >/dev/null || missing+=(gcc)
    command -v make >/dev/null || missing+=(make)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    if command -v pkg-config >/dev/null; then
        pkg-config --exists cmocka || missing+=(libcmocka-dev)
        pkg-config --exists jansson || missing+=(libjansson-dev)
        pkg-config --exists zlib || missing+=(zlib1g-dev)
        pkg-config --exists openblas || missing+=(libopenblas-dev)
    else
        missing+=(libcmocka-dev libjansson-dev zlib1g-dev libopenblas-dev)
    fi
    if [ ! -f /usr/include/oneapi/dnnl/dnnl.h ] && command -v apt-get >/dev/null; then
        missing+=(libdnnl-dev) # oneDNN, for convolutions (no pkg-config file: CMake finds it)
    fi
    for tool in "$@"; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "sheaf: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "sheaf: missing packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
}

build() { # build DIR [cmake args...]
    local dir=$1
    shift
    cmake -S . -B "$dir" -DSF_WERROR=ON "$@" >"$dir/configure.log" 2>&1 || {
        cat "$dir/configure.log" >&2
        exit 1
    }
    grep '^-- sheaf:' "$dir/configure.log" || true
    cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1 || {
        cat "$dir/build.log" >&2
        exit 1
    }
}

cmd=${1:-test}
case "$cmd" in
demo)
    need_packages
    mkdir -p build
    build build
    # seed 003's model from the shared corpus when it sits beside the repo, else the test copy
    src=../shared/models/parallel_fcn.py
    [ -f "$src" ] || src=tests/models/parallel_fcn.py
    model=("$src" --model "ParallelFCN(1000)" --input "x=f32[B,20000]")
    echo "== sheaf compile ${model[*]} -o build/pfcn1000.sheaf --time   (1000 branches, -O2, CPU)"
    build/sheaf compile "${model[@]}" -o build/pfcn1000.sheaf --time
    echo "== sheaf ir ${model[*]} --stats   (the graph after -O2)"
    build/sheaf ir "${model[@]}" --stats | grep -v '^param'
    echo "== sheaf run build/pfcn1000.sheaf --batch 4 --time   (the package: no compile)"
    build/sheaf run build/pfcn1000.sheaf --batch 4 --time
    echo "== sheaf bench ${model[*]} --batch 1,64   (vs the interpreter and -O0, same run)"
    build/sheaf bench "${model[@]}" --batch 1,64 --budget 0.5
    ;;
test)
    need_packages
    mkdir -p build
    build build
    (cd build && ctest --output-on-failure -j "$jobs")
    bash scripts/python_tests.sh # the Python package, against PyTorch eager
    ;;
asan)
    need_packages
    mkdir -p build-asan
    build build-asan -DSF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure -j "$jobs")
    # the lock-free pool under ThreadSanitizer, built alone (TSan and ASan do not mix in one binary)
    "${CC:-cc}" -std=c11 -O1 -g -fsanitize=thread -I. runtime/pool.c tests/test_pool.c -lcmocka -lpthread \
        -o build-asan/test_pool_tsan
    TSAN_OPTIONS=halt_on_error=1 build-asan/test_pool_tsan
    ;;
fuzz)
    need_packages clang
    secs=${2:-60}
    mkdir -p build-fuzz
    CC=clang build build-fuzz -DSF_FUZZ=ON -DSF_TESTS=OFF
    mkdir -p build-fuzz/corpus/ir_parse build-fuzz/corpus/safetensors build-fuzz/corpus/py_parse \
        build-fuzz/corpus/package build-fuzz/corpus/nvrtc_cache build-fuzz/corpus/elf_check build-fuzz/seeds/package \
        build-fuzz/seeds/elf_check build-fuzz/corpus/plan build-fuzz/seeds/plan build-fuzz/findings
    # package seeds: small models written by this build (interpreter packages carry no object code)
    for f in mlp parallel_fcn3 views; do
        build-fuzz/sheaf compile tests/fixtures/$f.sfir --backend interp -o build-fuzz/seeds/package/$f.sheaf
    done
    # and one with CUDA sections, where NVRTC is installed (the reader's image checks)
    build-fuzz/sheaf compile tests/fixtures/views.sfir --backend interp --target sm_80 \
        -o build-fuzz/seeds/package/views_cuda.sheaf 2>/dev/null || true
    # object code seeds for the TLS check: what the CPU backend emits
    SHEAF_DUMP_OBJECT=build-fuzz/seeds/elf_check/mlp.o build-fuzz/sheaf run tests/fixtures/mlp.sfir -o /dev/null \
        2>/dev/null || true
    fail=0
    run_fuzzer() { # NAME SEED_DIR
        local log=build-fuzz/$1.log
        if ! build-fuzz/"$1" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix=build-fuzz/findings/ build-fuzz/corpus/"${1#fuzz_}" "$2" >"$log" 2>&1; then
            fail=1
            grep -E 'ERROR|SUMMARY|^    #' "$log" | head -40 >&2
            echo "sheaf: $1 found a failing input: $(ls build-fuzz/findings)" >&2
        fi
        grep -E 'DONE|stat::number_of_executed_units' "$log" | sed "s/^/$1: /"
    }
    run_fuzzer fuzz_ir_parse tests/fixtures
    run_fuzzer fuzz_safetensors tests/fuzz/corpus/safetensors
    run_fuzzer fuzz_py_parse tests/fuzz/corpus/py
    run_fuzzer fuzz_package build-fuzz/seeds/package
    run_fuzzer fuzz_nvrtc_cache tests/fuzz/corpus/nvrtc_cache
    run_fuzzer fuzz_elf_check build-fuzz/seeds/elf_check
    run_fuzzer fuzz_plan build-fuzz/seeds/plan # no seeds: the empty input is the fixed model's own plan
    exit $fail
    ;;
coverage)
    need_packages
    mkdir -p build-cov
    build build-cov -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="--coverage -O0" -DCMAKE_EXE_LINKER_FLAGS=--coverage \
        -DCMAKE_SHARED_LINKER_FLAGS=--coverage
    find build-cov -name '*.gcda' -delete
    export SHEAF_POISON=1 XDG_CACHE_HOME="$root/build-cov/nvrtc-cache"
    build-cov/tests/test_random >build-cov/random.log
    SF_TEST_FILTER='test_*_models' build-cov/tests/test_cuda_host >build-cov/cuda_host.log
    build-cov/tests/test_plan >build-cov/plan.log # the plan's checker and reader: every refusal
    build-cov/tests/test_dnnl >build-cov/dnnl.log # oneDNN's convolutions on random geometry
    rm -f /tmp/gcov.*.txt
    for f in $(find build-cov -name '*.gcda' | grep -E '/codegen/|/runtime/cpu_(exec|jit|dnnl|lib)'); do
        gcov -t -o "$(dirname "$f")" "$f" 2>/dev/null >"/tmp/gcov.$(basename "$f").txt"
    done
    python3 scripts/coverage.py | tee build-cov/coverage.txt | grep -E '^[a-z]|^TOTAL'
    rm -f /tmp/gcov.*.txt
    ;;
*)
    echo "usage: scripts/dev.sh demo|test|asan|fuzz [SECONDS]|coverage" >&2
    exit 2
    ;;
esac
