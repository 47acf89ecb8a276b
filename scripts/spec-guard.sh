#!/bin/sh
# Run the spec guard (approved artifacts unchanged, required mini-specs approved, reviews fresh).
# Usage: scripts/spec-guard.sh [--repo PATH] [--max-age-days 30]
# Uses the `orch` command when it is installed, else the package from this checkout.
set -eu
if command -v orch >/dev/null 2>&1; then
    exec orch spec-guard "$@"
fi
checkout="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$checkout${PYTHONPATH:+:$PYTHONPATH}" exec "${ORCH_PYTHON:-python3}" -m bot spec-guard "$@"
