#!/usr/bin/env bash
# Run the test suite; creates .venv first (./setup.sh --install-only) if needed.
# Extra arguments go to pytest, e.g. ./test.sh -k gradcheck
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/pytest ] || ./setup.sh --install-only
# Two workers per CPU: much of the suite waits (kernels and sandboxes starting, time
# limits running out, a browser redrawing), so one per CPU leaves the CPUs half idle.
# loadgroup: the catalogue variants of one notebook run on one worker (one execution).
# --durations: the slowest tests, in CI's log, to see where the time goes.
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-$((2 * $(nproc)))}" --dist loadgroup \
    --durations=30 "$@"
