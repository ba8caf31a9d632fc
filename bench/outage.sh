#!/usr/bin/env bash
# One server of eight killed for 30 s and brought back, under Swift's
# error limiting, the health policy (server_health = probe) and health plus
# a gutter server; with Swift's default tries (3: a key fails over along
# the ring) and with tries = 1 (no failover along the ring: what a gutter
# replaces). Then the same outage as a stopped server (SIGSTOP: connects
# hang in the backlog, replies never come) with tries = 3. Writes the
# per-second tables and the charts into OUT (default build/outage) and
# prints the summary as a markdown table.
#
#   bench/outage.sh [OUT]        (about thirteen minutes)
#   OUTAGE_RATE=6000 OUTAGE_KEYS=20000 OUTAGE_TIMES="10 30 35" bench/outage.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
MCRING_TARGETS=bench/outage configure_build build
out=${1:-$MCRING_ROOT/build/outage}
mkdir -p "$out"
bin=$MCRING_ROOT/build/bench/outage
read -r before outage after <<< "${OUTAGE_TIMES:-10 30 35}"
common=(--servers 8 --threads 8 --rate "${OUTAGE_RATE:-5000}"
        --keys "${OUTAGE_KEYS:-20000}" --before "$before" --outage "$outage"
        --after "$after")

run() { # NAME KIND TRIES POLICY-ARGS...
  local name=$1 kind=$2 tries=$3
  shift 3
  say "outage: $name"
  "$bin" "${common[@]}" --kind "$kind" --label "$name" \
    --csv "$out/$name.dat" -o "tries=$tries" "$@" | tee -a "$out/summary.txt"
}

: > "$out/summary.txt"
for tries in 3 1; do
  run "kill-t$tries-swift" kill "$tries"
  run "kill-t$tries-probe" kill "$tries" -o server_health=probe
  run "kill-t$tries-gutter" kill "$tries" -o server_health=probe --gutter 1
done
# The gutter's TTL cap against its hit rate (table only).
run kill-t3-gutter-ttl60 kill 3 -o server_health=probe --gutter 1 \
  -o gutter_ttl=60
run stop-t3-swift stop 3
run stop-t3-probe stop 3 -o server_health=probe
run stop-t3-gutter stop 3 -o server_health=probe --gutter 1

for set in kill-t3 kill-t1 stop-t3; do
  gnuplot -e "dir='$out'; set='$set'; down=$before; up=$((before + outage)); end=$((before + outage + after))" \
    "$MCRING_ROOT/bench/outage.gp"
done

/usr/bin/python3 - "$out/summary.txt" <<'PY'
import sys
rows = [dict(kv.split("=", 1) for kv in line.split())
        for line in open(sys.argv[1]) if line.startswith("label=")]
print("| run | errors (whole run) | errors in the outage | hit rate in the outage | the dead server's keys' hit rate | origin fetches in the outage | connects to the dead server in the outage | probes |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['label']} | {r['errors']} | {r['outage_errors']} | "
          f"{100 * float(r['outage_hit_rate']):.1f}% | "
          f"{100 * float(r['outage_victim_hit_rate']):.1f}% | "
          f"{r['outage_origin']} | "
          f"{r['outage_victim_connects']} | {r['outage_victim_probes']} |")
PY
say "tables and charts in $out"
