#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs them.
# Extra arguments go to pytest (e.g. `bash tests/run.sh -k store -x`).
#
# `bash tests/run.sh --fast [ARGS]` runs only the fast tier (core and UI-under-Pilot tests that start
# no process; tiers are decided in tests/conftest.py), reusing .venv when it is set up already, and
# without the guards: the command to run on every change. Set-up happens only when .venv lacks it.
#
# The tests run in two rounds: first every test that may share the machine, in parallel
# (pytest-xdist, two workers per core, each taking the next test as it is free; a UI test under
# Pilot spends about half its time waiting for the app to go idle, so one worker per core left the
# cores half idle; R1CHAT_TEST_WORKERS=N sets the count, 0 runs them in one process), then, one at
# a time, the tests that time things (terminals under tmux, signals, benchmarks, the integration
# tier). The exit status is the first failing round's. The fast tier alone runs three workers per
# core: it has none of the processes the parallel round starts, which load the machine more.
#
# PYTHONDONTWRITEBYTECODE is unset for the tests: with it set, pytest rewrote the asserts of every
# test module anew in every worker (7 s of CPU each), and the r1chat processes the tests start
# compiled the package each time.
#
# The integration tier (tests/integration: a real llama.cpp server with a tiny real model) is set
# up and run by default. It needs a C++ toolchain and cmake (installed with apt-get when missing),
# and its first install compiles llama.cpp for several minutes; pip caches the built wheel, so later
# runs reuse it. R1CHAT_SKIP_INTEGRATION=1 leaves the tier out.
#
# Before the tests, the guards run once: ruff (lint and import order), mypy (types), lint-imports
# (the layers: the core never imports the UI). R1CHAT_SKIP_GUARDS=1 leaves them out, for quick reruns.
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
if [ "${1:-}" = --fast ]; then
    fast=1
    shift
fi
cores="$(nproc 2>/dev/null || echo 2)"
workers="${R1CHAT_TEST_WORKERS:-$((cores * 2))}"
unset PYTHONDONTWRITEBYTECODE

if [ "$fast" = 1 ]; then
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import r1chat, pytest, xdist, pytest_asyncio, hypothesis' 2>/dev/null; then
        :
    else
        python3 -m venv .venv
        .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
    fi
    unset R1CHAT_INTEGRATION
    exec .venv/bin/python -m pytest --tier fast -n "${R1CHAT_TEST_WORKERS:-$((cores * 3))}" --dist worksteal "$@"
fi

integration=1
if [ "${R1CHAT_SKIP_INTEGRATION:-}" = 1 ]; then
    integration=0
fi

# System tools: tmux for the terminal tests; a compiler and cmake to build llama-cpp-python.
packages=()
command -v tmux >/dev/null 2>&1 || packages+=(tmux)
if [ "$integration" = 1 ]; then
    { command -v c++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1; } || packages+=(build-essential)
    command -v cmake >/dev/null 2>&1 || packages+=(cmake)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
        echo "tests/run.sh: installing ${packages[*]} with apt-get" >&2
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
    else
        echo "tests/run.sh: ${packages[*]} missing and cannot be installed here" >&2
    fi
fi

python3 -m venv .venv
if [ "$integration" = 1 ]; then
    echo "tests/run.sh: installing with the integration tier (the first time, llama.cpp compiles for several minutes)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,mcp,integration]' || {
        echo "tests/run.sh: could not install the integration tier; R1CHAT_SKIP_INTEGRATION=1 runs the rest" >&2
        exit 1
    }
    export R1CHAT_INTEGRATION=1
else
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,mcp]'
    unset R1CHAT_INTEGRATION
fi

if [ "${R1CHAT_SKIP_GUARDS:-}" != 1 ]; then
    echo "tests/run.sh: ruff check r1chat tests" >&2
    .venv/bin/ruff check r1chat tests
    echo "tests/run.sh: mypy (settings in pyproject.toml)" >&2
    .venv/bin/mypy
    echo "tests/run.sh: lint-imports (contracts in pyproject.toml)" >&2
    .venv/bin/lint-imports --no-logo
fi

# Round one in parallel, round two alone. A round that selects nothing (exit 5: e.g. `-k` named
# only tests of the other round) is no failure unless neither selects anything.
status=0
.venv/bin/python -m pytest --tier parallel -n "$workers" --dist worksteal "$@" || status=$?
for arg in "$@"; do
    case "$arg" in
        -x | --exitfirst | --maxfail*)
            if [ "$status" != 0 ] && [ "$status" != 5 ]; then
                exit "$status"
            fi
            ;;
    esac
done
serial=0
.venv/bin/python -m pytest --tier serial "$@" || serial=$?
if [ "$status" = 5 ]; then
    status=$serial
elif [ "$status" = 0 ] && [ "$serial" != 5 ]; then
    status=$serial
fi
exit "$status"
