#!/usr/bin/env bash
# Sets up the environment (first run only) and runs the whole bot locally with the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_BROWSER=0 bash scripts/setup.sh
exec .venv/bin/python -m bot dev "$@"
