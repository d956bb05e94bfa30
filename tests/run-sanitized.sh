#!/usr/bin/env bash
# Builds the shim with AddressSanitizer and UndefinedBehaviorSanitizer and
# runs the whole suite against it under one CPython. Any sanitizer report
# aborts the process, which fails the run.
#   bash tests/run-sanitized.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

build=${CLC_SANITIZE_BUILD_DIR:-build-sanitize}
cmake -S . -B "$build" -DCLC_SANITIZE=ON -DCLC_WERROR=ON -DCLC_BUILD_TESTS=ON \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j2 >/dev/null
ctest --test-dir "$build" --output-on-failure

python=${PYTHON:-python3}
venv="$build/venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q pytest hypothesis

# Python itself is not instrumented: the runtime must be loaded first, and
# leak checking is off because the interpreter keeps memory until exit.
export LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CHRONOLOG_CTYPES_LIBRARY="$PWD/$build/libchronolog_capi.so"
export PYTHONPATH="$PWD"
"$venv/bin/python" -m pytest -p no:cacheprovider "$@"
