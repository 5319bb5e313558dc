#!/usr/bin/env python3
"""Replays a recorded raw directory into a scratch directory, line by line in the order of the
lines' own time stamps and SPEED times faster than it was recorded, while `sealcheck follow`
watches the scratch directory. Prints follow's CPU time and its resident memory at the end of
each minute of the recording's time, and its last verdicts. No cluster needed: it measures the
follower alone, quicker than scripts/follow-memory.sh.

    scripts/follow-replay.py RAW [SPEED] [-- FOLLOW-ARGS...]

    scripts/follow-replay.py traces/restate-1.7.12/steady-load-10min/raw 10

Uses target/release/sealcheck (build it first: cargo build --release -p sealcheck).
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

RECORD_FILES = ["actions.jsonl", "restatectl.jsonl", "sql.jsonl"]


def stamp_us(line):
    """The time a line was written at: a record's end (or start), a server log line's stamp."""
    v = json.loads(line)
    for key in ("end_time_us", "time_us"):
        if key in v:
            return v[key]
    ts = v["timestamp"]
    d = datetime.datetime.strptime(ts[:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6)


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[: args.index("--")]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if args else 2)
    raw = args[0]
    speed = float(args[1]) if len(args) > 1 else 10.0
    if not os.path.isfile(os.path.join(raw, "meta.json")):
        sys.exit(f"{raw}: not a raw directory (no meta.json)")
    binary = os.path.join(os.path.dirname(__file__), "..", "target", "release", "sealcheck")
    if not os.path.isfile(binary):
        sys.exit("target/release/sealcheck not built: cargo build --release -p sealcheck")
    out = tempfile.mkdtemp(prefix="sealcheck-replay-")
    try:
        replay(raw, out, speed, binary, extra)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def replay(raw, out, speed, binary, extra):
    os.makedirs(os.path.join(out, "logs"))
    shutil.copy(os.path.join(raw, "meta.json"), os.path.join(out, "meta.json"))
    rels = [r for r in RECORD_FILES if os.path.isfile(os.path.join(raw, r))]
    rels += ["logs/" + f for f in sorted(os.listdir(os.path.join(raw, "logs")))]
    lines = []
    for rel in rels:
        with open(os.path.join(raw, rel)) as f:
            for line in f:
                lines.append((stamp_us(line), rel, line))
    lines.sort(key=lambda x: x[0])
    verdicts = os.path.join(out, "follow.jsonl")
    follow = subprocess.Popen(
        [binary, "follow", out, "--format", "json"] + extra,
        stdout=open(verdicts, "w"),
        stderr=subprocess.STDOUT,
    )
    t0, start = lines[0][0], time.time()
    files, samples, next_sample = {}, [], start
    for t, rel, line in lines:
        due = start + (t - t0) / 1e6 / speed
        while time.time() < due:
            if time.time() >= next_sample:
                with open(f"/proc/{follow.pid}/status") as f:
                    status = {x.split(":")[0]: x.split()[1] for x in f if x.startswith(("VmRSS", "RssAnon"))}
                samples.append(((t - t0) / 60e6, int(status["VmRSS"]), int(status["RssAnon"])))
                next_sample += 0.5
            time.sleep(0.01)
        if rel not in files:
            files[rel] = open(os.path.join(out, rel), "a")
        files[rel].write(line)
        files[rel].flush()
    time.sleep(3)
    follow.send_signal(2)
    _, _, usage = os.wait4(follow.pid, 0)
    minutes = int(samples[-1][0]) + 1 if samples else 0
    print(f"replayed {len(lines)} lines of {raw} {speed:g} times faster")
    print(f"follow: {usage.ru_utime + usage.ru_stime:.1f} s of CPU, peak {usage.ru_maxrss / 1024:.1f} MiB")
    for m in range(1, minutes + 1):
        near = [(r, a) for (x, r, a) in samples if x <= m]
        if near:
            r, a = near[-1]
            print(f"  minute {m:2}: {r / 1024:5.1f} MiB resident at its end ({a / 1024:.1f} MiB anonymous: heap and stacks)")
    with open(verdicts) as f:
        last = f.read().strip().splitlines()
    print("last verdicts:", last[-1] if last else "(none)")


if __name__ == "__main__":
    main()
