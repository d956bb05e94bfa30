#!/usr/bin/env bash
# Runs the whole test suite: builds the wheel once and tests it under every
# CPython 3.8-3.13 and PyPy 3 that tox can find, in parallel.
#
# On a machine without the tools (tox, a C++ compiler, CMake, SQLite's
# headers, PyPy), it installs them first when it can: with apt-get when run
# as root, and with pip. Extra arguments go to pytest, e.g.
#   bash tests/run-all.sh -k replay
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
command -v cmake >/dev/null || need_apt+=(cmake)
[ -e /usr/include/sqlite3.h ] || need_apt+=(libsqlite3-dev)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v pypy3 >/dev/null || need_apt+=(pypy3 pypy3-venv)
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

python=${PYTHON:-python3}
"$python" -m tox --version >/dev/null 2>&1 || "$python" -m pip install -q tox

# Interpreters installed by pyenv are not on PATH under their python3.X
# names unless selected: hand every 3.8-3.13 found there to tox directly.
discover=()
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for minor in 8 9 10 11 12 13; do
    for exe in "$pyenv_root"/versions/3."$minor".*/bin/python3."$minor"; do
        [ -x "$exe" ] && discover+=("$exe")
    done
done
command -v pypy3 >/dev/null && discover+=("$(command -v pypy3)")

exec "$python" -m tox run-parallel ${discover[@]:+--discover "${discover[@]}"} --parallel "${TOX_PARALLEL:-2}" --parallel-no-spinner -- "$@"
