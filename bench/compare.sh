#!/usr/bin/env bash
# The comparison suite: starts four memcached servers (-t 1) on free
# loopback ports, runs mcring, libmemcached's memcached_pool and a bare
# socket loop through the same workloads, alternating them in each round,
# and writes the CSV, the medians and PNG charts.
#
#   bench/compare.sh [OUT_DIR]        (default bench/out)
#   DURATION=2 ROUNDS=5 THREADS=1,2,4,8,16 BATCHES=10,100,1000 bench/compare.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

ensure_packages
configure_build build
out=${1:-$MCRING_ROOT/bench/out}
mkdir -p "$out"

trap stop_started EXIT
ports=()
for i in 1 2 3 4; do
  port=$(free_port)
  start_memcached "$port" -t 1 -m 256
  ports+=("$port")
done
three="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
four="$three,127.0.0.1:${ports[3]}"

say "comparing on $(nproc) cores against $three"
"$MCRING_ROOT/build/bench/compare" --servers "$three" --swap-list "$four" \
  --duration "${DURATION:-2}" --rounds "${ROUNDS:-5}" \
  --threads "${THREADS:-1,2,4,8,16}" --batches "${BATCHES:-10,100,1000}" \
  --csv "$out/compare.csv" --out "$out" | tee "$out/summary.txt"
gnuplot -e "dir='$out'" "$MCRING_ROOT/bench/charts.gp"
say "wrote $out/compare.csv, summary.txt, throughput.png, p99.png, multiget.png"
