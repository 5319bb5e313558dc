#!/usr/bin/env bash
# Regenerates the generated trace fixtures under traces/valid and traces/invalid from the model
# (the hand-written ones are left alone). Review the diff and traces/expected.toml afterwards:
# a change here means the model's behaviour or labels changed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p sealcheck
S=target/release/sealcheck
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$S simulate --harness wait-provisioned --traces 1 --seed 11 --out "$tmp/wp"
cp "$tmp/wp/trace-0000.jsonl" traces/valid/wait-provisioned-full.jsonl
$S simulate specs/appends-then-seal.toml --traces 1 --seed 5 --observe --out "$tmp/obs"
cp "$tmp/obs/trace-0000.jsonl" traces/valid/appends-then-seal-observed.jsonl
$S simulate specs/appends-then-seal.toml --traces 1 --seed 6 --observe \
  --hide stored,store-reply,seal-handled,seal-confirmed,append-acked --out "$tmp/part"
cp "$tmp/part/trace-0000.jsonl" traces/valid/appends-then-seal-partial.jsonl
# The first paused-members walk whose seal failed; the run is declared not complete (the
# failed harness would otherwise break liveness).
$S simulate specs/paused-members.toml --traces 40 --seed 7 --out "$tmp/pm"
failed=$(grep -l '"seal-failed"' "$tmp"/pm/*.jsonl | head -n 1)
python3 - "$failed" traces/valid/paused-members-failed-seal.jsonl <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
h = json.loads(lines[0])
h["run_complete"] = False
h["source"] += "; run_complete set to false: the seal fails and delayed Seal requests still seal the paused servers"
lines[0] = json.dumps(h, separators=(",", ":"))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY

emit() { # spec output
  $S check "$1" -q --emit-trace "$2" >/dev/null || true
  python3 - "$2" <<'PY'
import json, sys
p = sys.argv[1]
lines = open(p).read().splitlines()
h = json.loads(lines[0])
h["config"]["bugs"] = []          # a real system's trace does not declare its bugs
h["config"]["unreachable"] = []
lines[0] = json.dumps(h, separators=(",", ":"))
open(p, "w").write("\n".join(lines) + "\n")
PY
}
emit specs/bugs/seal-without-drain.toml traces/invalid/ack-past-sealed-tail.jsonl
# As a recorder of a release build would see it: per-message steps are not logged.
python3 - traces/invalid/ack-past-sealed-tail.jsonl <<'PY'
import json, sys
p = sys.argv[1]
lines = open(p).read().splitlines()
hidden = {"stored", "store-reply", "seal-handled", "seal-confirmed"}
h = json.loads(lines[0])
h["complete"] = [k for k in ["provisioned", "provision-refused", "view-updated", "seal-started",
    "seal-rejected", "seal-request-failed", "seal-completed", "seal-failed", "sequencer-sealed",
    "append", "append-acked", "append-rejected", "message-lost", "message-duplicated", "crashed",
    "restarted", "storage-state-set"]]
h["source"] += "; per-message kinds (stored, store-reply, seal-handled, seal-confirmed) removed"
out = [json.dumps(h, separators=(",", ":"))]
out += [l for l in lines[1:] if json.loads(l)["event"] not in hidden]
open(p, "w").write("\n".join(out) + "\n")
PY
emit specs/bugs/seal-one-confirmation.toml traces/invalid/seal-one-confirmation.jsonl
emit specs/bugs/store-after-seal.toml traces/invalid/store-on-sealed-server.jsonl
emit specs/bugs/provisioning-writable.toml traces/invalid/provisioning-server-stores.jsonl
emit specs/bugs/ack-before-quorum.toml traces/invalid/ack-before-quorum.jsonl
emit specs/three_logserver_seal_empty.toml traces/invalid/incident-seal-never-succeeds.jsonl
emit specs/provisioning-steps.toml traces/invalid/trim-point-fails-before-request-pumps.jsonl
emit specs/two-members-disabled.toml traces/invalid/one-candidate-left-seal-fails.jsonl
emit specs/running-sealer.toml traces/invalid/running-sealer-stale-view-rejected.jsonl
# The test's client joins after the wait, so its first view is current even with stale views.
$S simulate specs/three_logserver_seal_empty.toml --harness wait-provisioned --stale-views \
  --traces 1 --seed 11 --out "$tmp/join"
cp "$tmp/join/trace-0000.jsonl" traces/valid/joining-client-wait-provisioned-stale.jsonl
# The first crash-restart walk in which the seal task re-sends Seal to a restarted member.
$S simulate specs/crash-restart.toml --traces 200 --seed 3 --out "$tmp/cr"
resent=$(grep -l '"seal-request-resent"' "$tmp"/cr/*.jsonl | head -n 1)
cp "$resent" traces/valid/crash-restart-seal-resent.jsonl
echo "regenerated; now run: $S validate traces/ and compare with traces/expected.toml"
