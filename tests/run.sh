#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs them.
# Extra arguments go to pytest (e.g. `bash tests/run.sh -k store -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools for the terminal (tmux) tests.
if ! command -v tmux >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
    else
        echo "tests/run.sh: tmux is missing and cannot be installed here; terminal tests will be skipped" >&2
    fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest "$@"
