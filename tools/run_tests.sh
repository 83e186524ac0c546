#!/usr/bin/env bash
# The whole suite as two pytest processes side by side (one core each while both run): the unit
# tier and the integration tier (training tool subprocesses). Together they finish well before
# the two would one after the other on a 2-core machine. Arguments go to both (e.g. -x, -k EXPR);
# a tier that selects no test (pytest exit 5) counts as passed unless both do.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# The demo data both tiers read (made once and reused; made here so the two never race on it).
"$PY" -c "from focalnet_mm.demo_data import make_demo_data; make_demo_data('data/demo', verbose=False)" || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One thread per tier while both run (two 2-thread OpenMP teams on 2 cores spin-wait for each
# other), both cores for the tier still running once the other has ended: each tier's tests and
# tool subprocesses read the other tier's marker file (tests/helpers.py suite_threads); programs
# the tests start otherwise inherit one thread.
touch "$work/unit.running" "$work/integration.running"
export OMP_NUM_THREADS=1
# The CPU kernel plans (measured on a model's first forward) in one file for every test process:
# each block configuration and input size is measured once per suite, not once per process.
export FOCALNET_MM_ACCEL_CACHE=${FOCALNET_MM_ACCEL_CACHE:-$work/accel-plans.json}
(FOCALNET_TEST_OTHER_TIER="$work/integration.running" "$PY" -m pytest -q -m "not integration" \
    --basetemp="$work/unit" "$@" > "$work/unit.log" 2>&1; rc=$?; rm -f "$work/unit.running"
 exit $rc) & unit=$!
(FOCALNET_TEST_OTHER_TIER="$work/unit.running" "$PY" -m pytest -q -m integration \
    --basetemp="$work/integration" "$@" > "$work/integration.log" 2>&1; rc=$?
 rm -f "$work/integration.running"; exit $rc) & integration=$!
wait $unit; rc_unit=$?
wait $integration; rc_integration=$?
echo "== unit tier (exit $rc_unit)"; cat "$work/unit.log"
echo "== integration tier (exit $rc_integration)"; cat "$work/integration.log"
ok() { [[ $1 == 0 || $1 == 5 ]]; }
# CI keeps the head and the tail of long output: repeat the end of a failed tier's log last, where
# a crash of pytest itself (signal: exit > 128) has its faulthandler traceback.
for tier in unit integration; do
    rc_var=rc_$tier
    if ! ok "${!rc_var}"; then
        echo "== $tier tier failed (exit ${!rc_var}): the last 80 lines of its log"
        tail -n 80 "$work/$tier.log"
    fi
done
echo "== summary: unit tier exit $rc_unit, integration tier exit $rc_integration"
if ok $rc_unit && ok $rc_integration && ! [[ $rc_unit == 5 && $rc_integration == 5 ]]; then exit 0; fi
exit 1
