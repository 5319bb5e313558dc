#!/bin/bash
# The incident's race without --force (the "natural route"): log 0's chain written by hand
# (`restatectl metadata put --key bifrost_config`) with a nodeset of log servers N2..N4 that are
# not started yet, sealed (`restatectl logs seal 0`, through N1: metadata server and admin,
# the loglet's sequencer) while they are absent, then while they start (loop) or once they
# joined and are held Provisioning by SIGSTOP (stop); no --force anywhere (gone: a member moved
# to Gone, the one forced move). Everything on 127.0.0.1 in a private network namespace; needs
# root, util-linux (unshare, nsenter), python3.
#
#   scripts/natural-route.sh OUTDIR [loop|stop|gone]
#
# Writes OUTDIR/commands.txt (every restatectl run, its time and output), OUTDIR/logs/n*.log,
# the bifrost_config documents before and after, and the nodes' configuration files. The
# binaries: $SEALCHECK_RESTATE_SERVER / $SEALCHECK_RESTATECTL, else the npm install under
# restate/. The committed runs: traces/restate-1.7.12/natural-route/ (README.md there).
set -u
OUT=$1; MODE=${2:-loop}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRV=${SEALCHECK_RESTATE_SERVER:-$ROOT/restate/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server}
CTL=${SEALCHECK_RESTATECTL:-$ROOT/restate/node_modules/@restatedev/restatectl-linux-x64/bin/restatectl}
case "$MODE" in loop|stop|gone) ;; *) echo "usage: $0 OUTDIR [loop|stop|gone]" >&2; exit 2;; esac
for b in "$SRV" "$CTL"; do
  [ -x "$b" ] || { echo "$b: not found (npm ci --prefix restate, or set SEALCHECK_RESTATE_SERVER / SEALCHECK_RESTATECTL)" >&2; exit 2; }
done
rm -rf $OUT; mkdir -p $OUT/logs
WORK=$(mktemp -d /tmp/natural-XXXX)
CMDS=$OUT/commands.txt
unshare --net sleep 3600 & HOLDER=$!
sleep 0.3
NS="nsenter --net=/proc/$HOLDER/ns/net"
$NS ip link set lo up
echo "holder $HOLDER" > $OUT/pids
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT $p 2>/dev/null; kill -TERM $p 2>/dev/null; done
  sleep 3
  for p in "${PIDS[@]}"; do kill -KILL $p 2>/dev/null; done
  kill $HOLDER 2>/dev/null
  wait 2>/dev/null
  rm -rf $WORK
}
trap cleanup EXIT
conf() { # id roles
  local id=$1 roles=$2
  cat > $WORK/n$id.toml <<EOT
node-name = "n$id"
force-node-id = $id
cluster-name = "natural"
base-dir = "$WORK/n$id"
roles = [$roles]
auto-provision = false
disable-telemetry = true
listen-mode = "tcp"
bind-address = "127.0.0.1:${id}5122"
advertised-address = "http://127.0.0.1:${id}5122/"
rocksdb-total-memory-size = "256 MiB"
shutdown-timeout = "5s"
log-format = "json"
log-filter = "info,restate_bifrost=debug,restate_log_server=debug,restate_node=debug"

[metadata-client]
addresses = ["http://127.0.0.1:15122/"]

[admin]
bind-address = "127.0.0.1:${id}9070"
advertised-address = "http://127.0.0.1:${id}9070/"

[admin.query-engine]
memory-size = "64 MiB"

[ingress]
bind-address = "127.0.0.1:${id}8080"

[worker.invoker]
memory-limit = "64 MiB"

[bifrost]
default-provider = "replicated"
disable-auto-improvement = true
EOT
}
start() { # id
  $NS env RESTATE_LOG_FORMAT=json $SRV -c $WORK/n$1.toml > $OUT/logs/n$1.log 2>&1 &
  PIDS+=($!); echo "n$1 $!" >> $OUT/pids
}
ctl() { # args...  (records command + output with time)
  local t0=$(date -u +%H:%M:%S.%N)
  local out; out=$($NS $CTL "$@" 2>&1); local rc=$?
  printf '### %s restatectl %s (rc=%s)\n%s\n' "$t0" "$*" "$rc" "$out" >> $CMDS
  printf '%s' "$out"
}
A=http://127.0.0.1:15122/
conf 1 '"metadata-server", "admin"'
for i in 2 3 4; do conf $i '"log-server"'; done
cp $WORK/n*.toml $OUT/
start 1
for i in $(seq 1 50); do $NS bash -c "echo > /dev/tcp/127.0.0.1/15122" 2>/dev/null && break; sleep 0.1; done
for k in $(seq 1 40); do
  o=$(ctl --address $A --yes provision --log-provider replicated --log-replication 2 --num-partitions 1)
  case "$o" in *"successfully provisioned"*) break;; esac
  sleep 0.25
done
for k in $(seq 1 40); do
  o=$(ctl --address $A metadata get --key bifrost_config)
  case "$o" in *'"version"'*) break;; esac
  sleep 0.25
done
ctl --address $A nodes list >/dev/null
GEN=$(grep -o '"My Node ID is N1:[0-9]*' $OUT/logs/n1.log | head -1 | sed 's/.*is //')
echo "N1 generation: $GEN" >> $CMDS
ctl --address $A metadata get --key bifrost_config > $OUT/bifrost_config.before.json
ctl --address $A logs generate-metadata --replication '{node: 2}' --nodeset N2,N3,N4 --sequencer ${GEN:-N1:1} --num-logs 1 > $OUT/logs_doc.json
VER=$(python3 -c "import json,sys; print(json.load(open('$OUT/bifrost_config.before.json'))['version'])" 2>/dev/null)
echo "bifrost_config version before: $VER" >> $CMDS
python3 - $OUT/bifrost_config.before.json $OUT/logs_doc.json > $OUT/bifrost_config.new.json <<'PY'
import json,sys
before=json.load(open(sys.argv[1])); doc=json.load(open(sys.argv[2]))
before['logs']=doc['logs']
print(json.dumps(before))
PY
ctl --address $A --yes metadata put --key bifrost_config --version $VER $OUT/bifrost_config.new.json >/dev/null
sleep 0.5
ctl --address $A metadata get --key bifrost_config > $OUT/bifrost_config.after.json
ctl --address $A logs describe 0 >/dev/null
ctl --address $A nodes list >/dev/null
# seal while N2..N4 do not exist yet (unknown node ids); retry until N1 knows the hand-written chain
for k in $(seq 1 30); do
  o=$(ctl --address $A --yes logs seal 0)
  case "$o" in *"Unknown log id"*) sleep 0.5;; *) break;; esac
done
ctl --address $A --yes logs seal 0 >/dev/null
ctl --address $A nodes list >/dev/null
if [ "$MODE" = gone ]; then
  # all three provision normally; N4 -> Gone; N3 and N4 paused; seal (needs N2 + one of N3/N4); resume; seal again
  for i in 2 3 4; do start $i; done
  echo "### $(date -u +%H:%M:%S.%N) started n2 n3 n4" >> $CMDS
  for k in $(seq 1 40); do
    o=$(ctl --address $A sql --jsonl "SELECT plain_node_id, storage_state FROM nodes")
    [ "$(printf '%s' "$o" | grep -c read-write)" = 3 ] && break
    sleep 0.25
  done
  o=$(ctl --address $A --yes nodes set-storage-state --nodes 4 --storage-state gone)
  case "$o" in *"updated"*) ;; *) ctl --address $A --yes nodes set-storage-state --nodes 4 --storage-state gone --force >/dev/null;; esac
  sleep 1
  ctl --address $A sql --jsonl "SELECT plain_node_id, gen_node_id, storage_state, nodes_configuration_version FROM nodes" >/dev/null
  for i in 3 4; do p=$(awk -v n=n$i '$1==n{print $2}' $OUT/pids); kill -STOP $p; done
  echo "### $(date -u +%H:%M:%S.%N) SIGSTOP n3 n4" >> $CMDS
  ctl --address $A --request-timeout 60000 --yes logs seal 0 >/dev/null
  for i in 3 4; do p=$(awk -v n=n$i '$1==n{print $2}' $OUT/pids); kill -CONT $p; done
  echo "### $(date -u +%H:%M:%S.%N) SIGCONT n3 n4" >> $CMDS
  sleep 1
  ctl --address $A --yes logs seal 0 >/dev/null
elif [ "$MODE" = loop ]; then
  for i in 2 3 4; do start $i; done
  echo "### $(date -u +%H:%M:%S.%N) started n2 n3 n4" >> $CMDS
  for k in $(seq 1 60); do
    o=$(ctl --address $A --request-timeout 2000 --yes logs seal 0)
    case "$o" in *"has been sealed"*) echo "sealed at attempt $k" >> $CMDS; break;; esac
    sleep 0.02
  done
else
  # stop mode: start N2..N4, SIGSTOP each as soon as it logs its node id (joined, before self-provisioning)
  for i in 2 3 4; do start $i; done
  echo "### $(date -u +%H:%M:%S.%N) started n2 n3 n4" >> $CMDS
  declare -A stopped=()
  for k in $(seq 1 2000); do
    for i in 2 3 4; do
      [ -n "${stopped[$i]:-}" ] && continue
      if grep -q 'Written log-server storage marker' $OUT/logs/n$i.log 2>/dev/null; then
        p=$(awk -v n=n$i '$1==n{print $2}' $OUT/pids); kill -STOP $p; stopped[$i]=1
        echo "### $(date -u +%H:%M:%S.%N) SIGSTOP n$i pid $p; provisioned before stop: $(grep -c 'self-provisioning is complete' $OUT/logs/n$i.log)" >> $CMDS
      fi
    done
    [ ${#stopped[@]} -eq 3 ] && break
    sleep 0.002
  done
  sleep 1
  ctl --address $A nodes list >/dev/null
  ctl --address $A sql --jsonl "SELECT plain_node_id, gen_node_id, storage_state, nodes_configuration_version FROM nodes" >/dev/null
  ctl --address $A --request-timeout 3000 --yes logs seal 0 >/dev/null
  ctl --address $A --request-timeout 3000 --yes logs seal 0 >/dev/null
  for i in 2 3 4; do p=$(awk -v n=n$i '$1==n{print $2}' $OUT/pids); kill -CONT $p; done
  echo "### $(date -u +%H:%M:%S.%N) SIGCONT n2 n3 n4" >> $CMDS
  for k in $(seq 1 60); do
    o=$(ctl --address $A --request-timeout 2000 --yes logs seal 0)
    case "$o" in *"has been sealed"*) echo "sealed at attempt $k" >> $CMDS; break;; esac
    sleep 0.02
  done
fi
sleep 1
ctl --address $A nodes list >/dev/null
ctl --address $A sql --jsonl "SELECT plain_node_id, gen_node_id, storage_state, nodes_configuration_version FROM nodes" >/dev/null
ctl --address $A logs describe 0 >/dev/null
ctl --address $A replicated-loglet info 0_0 >/dev/null
ctl --address $A --yes logs seal 0 >/dev/null
echo "### $(date -u +%H:%M:%S.%N) done" >> $CMDS
