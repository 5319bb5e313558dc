#!/usr/bin/env bash
# Records scenarios on a real Restate 1.7.12 cluster and checks the traces against the model.
#
# Needs root (each run gets a private network namespace that has only `lo`; every process uses
# 127.0.0.1), npm (the pinned binaries), util-linux (unshare, nsenter) and iproute2 (ip).
# Called by .ci/run after the test suite and the live recorder tests. About 4.5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
fail() { echo "record.sh: $*" >&2; exit 1; }

step "prerequisites (.ci/setup: npm, unshare/nsenter, ip, the pinned Restate binaries)"
[ "$(id -u)" -eq 0 ] || fail "needs root: each recording runs in a private network namespace"
bash .ci/setup

step "build"
cargo build -q --release -p sealcheck
bin=target/release/sealcheck
out=target/recorded
rm -rf "$out"
mkdir -p "$out"

for s in incident incident-forced appends-then-seal one-paused; do
  step "sealcheck record $s"
  "$bin" record "$s" --out "$out/$s"
done

step "validate incident, one-paused and appends-then-seal (must conform)"
for s in incident one-paused appends-then-seal; do
  set +e
  "$bin" validate "$out/$s/trace.jsonl"
  code=$?
  set -e
  [ "$code" -eq 0 ] || fail "$s: expected exit 0 (conforms), got $code"
done
appends=$(head -1 "$out/appends-then-seal/trace.jsonl" | grep -o '"appends":[0-9]*' | cut -d: -f2)
[ "${appends:-0}" -ge 3 ] || fail "appends-then-seal: the run's loglet got only ${appends:-0} records"

step "validate incident-forced (must violate the legal-moves property at the forced move)"
# The scenario forces ReadWrite members back to Provisioning with --force, which Restate
# accepts and the protocol forbids (FINDINGS.md); everything before that move must conform.
first=$(grep -n '"event":"storage-state-set"' "$out/incident-forced/trace.jsonl" | head -1 | cut -d: -f1)
[ -n "$first" ] || fail "incident-forced: no storage-state-set in the trace"
item=$((first - 2)) # line 1 is the header; items count from 0
set +e
report=$("$bin" validate "$out/incident-forced/trace.jsonl")
code=$?
set -e
echo "$report"
[ "$code" -eq 1 ] || fail "incident-forced: expected exit 1 (violates), got $code"
echo "$report" | grep -qF "\"storage states only make legal moves\" at item $item " ||
  fail "incident-forced: expected a violation of \"storage states only make legal moves\" at item $item"

step "sealcheck record steady-load-short: 45 s of ingress load, seals, a kill and a pause (every loglet judged or named)"
# A run of many loglets: each translated loglet must conform or stop at its bound (inconclusive),
# none may diverge or violate, the chain may not be violated, and no record may be left NOT
# PLACED. Loglets sealed by other nodes are listed as untranslated (docs/model.md).
set +e
"$bin" record steady-load-short --out "$out/steady-load-short"
code=$?
set -e
[ "$code" -eq 0 ] || [ "$code" -eq 3 ] || fail "steady-load-short: record exited $code"
[ -f "$out/steady-load-short/run.json" ] || fail "steady-load-short: no run.json"
set +e
# Each trace gets 20 s: the translated loglets are decided in well under a second; the
# single-trace import of meta.json's loglet may use its time and end inconclusive (exit 3).
report=$("$bin" validate --strict --timeout 20 "$out/steady-load-short")
code=$?
set -e
echo "$report" | grep -E '^(run|untranslated|conforms|INCONCLUSIVE|DIVERGES|VIOLATES) ' || true
[ "$code" -eq 0 ] || [ "$code" -eq 3 ] || fail "steady-load-short: validate exited $code (a loglet diverges or violates, or the chain does)"
if grep -q 'NOT PLACED' "$out/steady-load-short/run.json" 2>/dev/null; then
  fail "steady-load-short: the import left records of a translated loglet NOT PLACED"
fi
# import-notes.txt is the single-trace import of meta.json's loglet: when run.json names that
# loglet untranslated, the records it could not place must be the ones run.json names.
notes="$out/steady-load-short/import-notes.txt"
if [ -f "$notes" ] && grep -q 'NOT PLACED' "$notes"; then
  for line in $(grep 'NOT PLACED' "$notes" | sed 's/ /_/g'); do
    at=$(echo "$line" | grep -oE 'logs/[^_:]+:[0-9]+' | head -1)
    [ -n "$at" ] || fail "steady-load-short: a record NOT PLACED without a log line: $line"
    grep -q "$at" "$out/steady-load-short/run.json" ||
      fail "steady-load-short: $at is NOT PLACED and no untranslated loglet of run.json names it"
  done
fi

step "sealcheck campaign: the default selection's first 4 runs (coverage may not drop below the baseline, no run may diverge)"
# The runs that add the most step kinds first (docs/reproducing.md, "Campaigns"); the second is
# the incident's counterexample (the all-Provisioning rejection, then N1, N2, N3 provision),
# which must be followed step by step. About 2.5 minutes.
set +e
"$bin" campaign --max-runs 4 --baseline traces/restate-1.7.12/campaign/ci-baseline.txt --out "$out/campaign"
code=$?
set -e
sed -n '1,4p' "$out/campaign/campaign.txt"
grep -E '^  [a-z-]+-p[0-9]+ |^    run ' "$out/campaign/campaign.txt" | head -n 8 || true
[ "$code" -eq 0 ] || fail "campaign: exited $code (1: a run diverged, or a step kind the baseline took was not taken; 3: a run failed; see $out/campaign/campaign.txt)"
awk '/^  incident-p1 /{getline; print; exit}' "$out/campaign/campaign.txt" | grep -q '^    run 1: follows;' ||
  fail "campaign: the incident's counterexample (incident-p1) was not followed step by step"
if grep -q 'NOT PLACED' "$out/campaign/runs/incident-p1-r1/import-notes.txt"; then
  fail "campaign: the import of incident-p1 left records of the loglet NOT PLACED (see its import-notes.txt)"
fi

step "record.sh done"
