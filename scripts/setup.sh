#!/bin/sh
# Set up nngraph's virtual environment (.venv), Graphviz's dot program, and Chromium with chromedriver
# (the browser tests of the interactive HTML view). Used by `make`; safe to run again. Installs Debian
# packages only where it can (root and apt-get).
set -eu

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=yes; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "nngraph setup: $PYTHON not found; install Python 3.10 or newer" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        if can_apt; then
            echo "nngraph setup: installing Debian's python3-venv" >&2
            apt_install python3-venv
            "$PYTHON" -m venv "$VENV"
        else
            echo "nngraph setup: '$PYTHON -m venv' failed; install it with: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
fi

# PyTorch's CPU build first (the interop tests need it): the torch extra asks only for torch>=2.1, which
# this satisfies, so pip does not go on to fetch a GPU build of several GB.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'torch==2.13.0'
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev,interop,dask]'

if ! command -v dot >/dev/null 2>&1; then
    if can_apt; then
        echo "nngraph setup: installing Debian's graphviz (for SVG, PNG and PDF diagrams)" >&2
        apt_install graphviz
    else
        echo "nngraph setup: Graphviz's dot is missing; diagrams need it: sudo apt-get install graphviz" >&2
    fi
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if can_apt; then
        echo "nngraph setup: installing Debian's chromium and chromium-driver (for the browser tests)" >&2
        apt_install chromium chromium-driver
    else
        echo "nngraph setup: Chromium is missing; the browser tests need it: sudo apt-get install chromium chromium-driver" >&2
    fi
fi
