#!/usr/bin/env bash
# The whole suite as two pytest processes side by side: the unit tier (torch on both cores) and the
# integration tier (training tool subprocesses that mostly keep one core busy). Together they
# finish well before the two would one after the other on a 2-core machine. Arguments go to both
# (e.g. -x, -k EXPR); a tier that selects no test (pytest exit 5) counts as passed unless both do.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# The demo data both tiers read (made once and reused; made here so the two never race on it).
"$PY" -c "from focalnet_mm.demo_data import make_demo_data; make_demo_data('data/demo', verbose=False)" || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m pytest -q -m "not integration" --basetemp="$work/unit" "$@" > "$work/unit.log" 2>&1 & unit=$!
"$PY" -m pytest -q -m integration --basetemp="$work/integration" "$@" > "$work/integration.log" 2>&1 & integration=$!
wait $unit; rc_unit=$?
wait $integration; rc_integration=$?
echo "== unit tier (exit $rc_unit)"; cat "$work/unit.log"
echo "== integration tier (exit $rc_integration)"; cat "$work/integration.log"
ok() { [[ $1 == 0 || $1 == 5 ]]; }
if ok $rc_unit && ok $rc_integration && ! [[ $rc_unit == 5 && $rc_integration == 5 ]]; then exit 0; fi
exit 1
