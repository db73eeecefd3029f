#!/usr/bin/env bash
# Run the test suite; creates .venv first (./setup.sh --install-only) if needed.
# Extra arguments go to pytest, e.g. ./test.sh -k gradcheck
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/pytest ] || ./setup.sh --install-only
# loadgroup: the catalogue variants of one notebook run on one worker (one execution).
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadgroup "$@"
