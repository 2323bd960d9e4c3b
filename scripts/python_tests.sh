#!/usr/bin/env bash
# The Python package's tests (tests/python): pip install ./python into a
# virtual environment kept outside the clone, then pytest.
#
# The environment is $SHEAF_VENV (default ~/.cache/sheaf/venv). The first
# run makes it with numpy, pytest, scikit-build-core and torch from the
# package index (a few GB, minutes; it says how long); later runs reuse it.
# Every run builds and installs the package afresh (scikit-build-core runs
# CMake on the project, --no-build-isolation so nothing is downloaded).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SHEAF_VENV:-$HOME/.cache/sheaf/venv}
want="import numpy, pytest, scikit_build_core, torch"
if ! "$venv/bin/python" -c "$want" 2>/dev/null; then
    start=$(date +%s)
    echo "sheaf: making $venv (numpy, pytest, scikit-build-core, torch)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --progress-bar off numpy pytest scikit-build-core torch
    echo "sheaf: $venv made in $(($(date +%s) - start)) s"
fi
start=$(date +%s)
mkdir -p "$root/build"
"$venv/bin/pip" install -q --no-build-isolation --force-reinstall --no-deps "$root/python" >"$root/build/pip.log" 2>&1 || {
    cat "$root/build/pip.log" >&2
    exit 1
}
echo "sheaf: pip install ./python in $(($(date +%s) - start)) s"
cd "$root"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python
