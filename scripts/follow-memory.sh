#!/usr/bin/env bash
# Measures `sealcheck follow` on a live cluster: records a scenario (default
# steady-load-10min: 10 minutes of load, a seal every 60 s, a kill and restart, a pause) with
# `follow` attached from the first line, samples follow's resident memory every 5 s, and prints
# it minute by minute with follow's last verdicts. Needs what `sealcheck record` needs (root,
# the Restate binaries under restate/node_modules: see docs/real-cluster.md).
#
#   scripts/follow-memory.sh [SCENARIO] [OUT]      # OUT defaults to target/follow-memory
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-steady-load-10min}
out=${2:-target/follow-memory}
cargo build --release -q -p sealcheck
bin=target/release/sealcheck
rm -rf "$out"
mkdir -p "$out"
run="$out/recording"
"$bin" record "$scenario" --out "$run" > "$out/record.log" 2>&1 &
record=$!
while [ ! -d "$run/raw/logs" ]; do
    kill -0 $record 2>/dev/null || { echo "record ended early:"; tail "$out/record.log"; exit 1; }
    sleep 0.05
done
"$bin" follow "$run/raw" --format json > "$out/follow.jsonl" 2> "$out/follow.err" &
follow=$!
start=$(date +%s)
(
    while kill -0 $follow 2>/dev/null; do
        rss=$(awk '/VmRSS/ {print $2}' /proc/$follow/status 2>/dev/null || true)
        [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss"
        sleep 5
    done
) > "$out/rss.txt" &
sampler=$!
wait $record || { echo "record failed:"; tail "$out/record.log"; kill -INT $follow; exit 1; }
sleep 5
kill -INT $follow
wait $follow || true
wait $sampler || true
echo "follow's resident memory (MiB), sampled every 5 s while $scenario was recorded:"
awk '{ m = int($1 / 60); last[m] = $2; if ($2 > max[m]) max[m] = $2 }
     END { for (m in last) printf "  minute %2d: %5.1f at its end, %5.1f at most\n", m + 1, last[m] / 1024, max[m] / 1024 }' \
    "$out/rss.txt" | sort -k2 -n
echo "follow's last verdicts:"
tail -1 "$out/follow.jsonl" | sed 's/},{/}\n  {/g' | sed 's/^/  /'
