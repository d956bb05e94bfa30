#!/usr/bin/env bash
# Runs the whole test suite: builds the wheel once and tests it under every
# CPython 3.8-3.13 and PyPy 3 found on the machine (on PATH or under pyenv),
# in parallel. It names the versions it did not find; with
# CHRONOLOG_CTYPES_REQUIRE_ALL_PYTHONS=1 (as in CI) a missing one is an
# error.
#
# On a machine without the tools (tox, a C++ compiler, CMake, SQLite's
# headers, PyPy, venv), it installs them first when it can: with apt-get
# when run as root, and tox with pip into a virtual environment of its own
# (build/tox-venv) when the Python running it has none. Extra arguments go
# to pytest, e.g.
#   bash tests/run-all.sh -k replay
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
command -v cmake >/dev/null || need_apt+=(cmake)
[ -e /usr/include/sqlite3.h ] || need_apt+=(libsqlite3-dev)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v pypy3 >/dev/null || need_apt+=(pypy3 pypy3-venv)
# Without tox, it goes into a virtual environment, which Debian's Python
# makes only with python3-venv.
if ! "$python" -m tox --version >/dev/null 2>&1; then
    "$python" -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${need_apt[*]} with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "missing: ${need_apt[*]} (install them, or run as root to let this script do it)" >&2
        exit 2
    fi
fi

if ! "$python" -m tox --version >/dev/null 2>&1; then
    # The system's Python may refuse pip installs (externally managed).
    toxvenv=build/tox-venv
    # Made again when its interpreter is gone (a removed pyenv version).
    "$toxvenv/bin/python" -c '' 2>/dev/null || "$python" -m venv --clear "$toxvenv"
    "$toxvenv/bin/python" -m tox --version >/dev/null 2>&1 ||
        "$toxvenv/bin/python" -m pip install -q tox
    python=$toxvenv/bin/python
fi

# Interpreters installed by pyenv are not on PATH under their python3.X
# names unless selected: hand every 3.8-3.13 found there to tox directly.
discover=()
envs=()
missing=()
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for minor in 8 9 10 11 12 13; do
    found=
    for exe in "$pyenv_root"/versions/3."$minor".*/bin/python3."$minor"; do
        [ -x "$exe" ] && discover+=("$exe") && found=1
    done
    command -v python3."$minor" >/dev/null && found=1
    if [ -n "$found" ]; then envs+=(py3"$minor"); else missing+=(py3"$minor"); fi
done
if command -v pypy3 >/dev/null; then
    discover+=("$(command -v pypy3)")
    envs+=(pypy3)
else
    missing+=(pypy3)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "not found on this machine, so not tested: ${missing[*]}" >&2
    if [ "${CHRONOLOG_CTYPES_REQUIRE_ALL_PYTHONS:-}" = 1 ] || [ ${#envs[@]} -eq 0 ]; then
        echo "every Python of the tox set is required here; install the missing ones" >&2
        exit 2
    fi
fi

envlist=$(IFS=,; echo "${envs[*]}")
exec "$python" -m tox run-parallel -e "$envlist" ${discover[@]:+--discover "${discover[@]}"} \
    --parallel "${TOX_PARALLEL:-2}" --parallel-no-spinner -- "$@"
