#!/usr/bin/env bash
# One command on a fresh machine: create .venv, install the course, then run
# the main job (`course build`): regenerate notebooks/, execute the solutions,
# autograde demo submissions and print the score table.
#   ./setup.sh                  install + build
#   ./setup.sh --install-only   install only (used by ./test.sh)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $PYTHON ($("$PYTHON" --version))"
    "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
echo "==> installing torch 2.13.0 first (the local CPU wheel; an unpinned torch pulls GBs of CUDA)"
pip install torch==2.13.0
echo "==> installing the course package and its dependencies"
pip install -e ".[grader,dev]"

# Debian packages, where we may install them: apt-get update first when the
# package lists are missing or stale (a fresh container has none).
apt_install() {
    apt-get install -y -q "$@" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

# Full Fashion-MNIST offline: Debian's package.
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    if can_apt; then
        echo "==> installing Debian's dataset-fashion-mnist (full data set, offline)"
        apt_install dataset-fashion-mnist \
            || echo "    (could not install it: the full profile will download the data instead)"
    else
        echo "==> note: full Fashion-MNIST not installed; run 'sudo apt-get install dataset-fashion-mnist'"
        echo "    or let the full profile download it. The grading profile needs nothing more."
    fi
fi

# Chromium for the browser test of the widgets (tests/test_widgets_browser.py,
# driven by Playwright); without it that test fails.
if [ ! -x /usr/bin/chromium ]; then
    if can_apt; then
        echo "==> installing Debian's chromium (the browser test of the widgets)"
        apt_install chromium || echo "    (could not install it: the browser test will fail)"
    else
        echo "==> note: /usr/bin/chromium is missing; run 'sudo apt-get install chromium'"
        echo "    (the browser test of the widgets needs it; ./test.sh -m 'not browser' skips it)"
    fi
fi

# The grader's sandbox (docs/grading.md): bubblewrap, from Debian.
if ! command -v bwrap >/dev/null; then
    if can_apt; then
        echo "==> installing Debian's bubblewrap (the grader's sandbox)"
        apt_install bubblewrap || echo "    (could not install it: grading runs without the sandbox, see docs/grading.md)"
    else
        echo "==> note: bubblewrap not installed; 'sudo apt-get install bubblewrap' for the grader's sandbox"
    fi
fi

if [ "${1:-}" != "--install-only" ]; then
    echo "==> building and checking the course"
    exec .venv/bin/course build
fi
