#!/usr/bin/env bash
# The thundering-herd benchmark (mcring bench --herd, tools/herd.c): three
# memcached servers (-t 1) on free loopback ports; plain get/set against
# leases at 8 to 64 reader threads, the key invalidated every 100 ms; then
# 64 threads with the key expiring every 2 s instead. Each point is the
# median of ROUNDS runs (by origin calls). Writes herd.csv and herd.png.
#
#   bench/herd.sh [OUT_DIR]                 (default bench/out)
#   DURATION=5 ROUNDS=3 THREADS=8,16,32,64 bench/herd.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

ensure_packages
configure_build build
out=${1:-$MCRING_ROOT/bench/out}
mkdir -p "$out"
trap stop_started EXIT
ports=()
for i in 1 2 3; do
  port=$(free_port)
  start_memcached "$port" -t 1 -m 64
  ports+=("$port")
done
servers="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
mcring="$MCRING_ROOT/build/tools/mcring"
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
IFS=, read -r -a threads <<< "${THREADS:-8,16,32,64}"

# One run's last line as CSV: cycle,mode,threads,origin_calls,expiries,
# origin_per_expiry,stale_reads,waits,max_wait_us,p50_us,p99_us,max_us
run() {
  local cycle=$1 mode=$2 t=$3 extra=()
  [ "$mode" = lease ] && extra+=(--lease)
  [ "$cycle" = expiry ] && extra+=(--herd-ttl 2)
  "$mcring" --servers "$servers" bench --herd "${extra[@]}" --threads "$t" \
    --duration "$duration" | tail -1 | tr ' ' '\n' | awk -F= -v c="$cycle" '
      {v[$1] = $2}
      END {printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", c, v["mode"],
           v["threads"], v["origin_calls"], v["expiries"],
           v["origin_per_expiry"], v["stale_reads"], v["waits"],
           v["max_wait_us"], v["p50_us"], v["p99_us"], v["max_us"]}'
}

csv="$out/herd.csv"
echo "cycle,mode,threads,origin_calls,expiries,origin_per_expiry,stale_reads,waits,max_wait_us,p50_us,p99_us,max_us" > "$csv"
point() {
  local cycle=$1 mode=$2 t=$3 i rows=()
  for i in $(seq "$rounds"); do rows+=("$(run "$cycle" "$mode" "$t")"); done
  # The median round by origin calls per expiry.
  printf '%s\n' "${rows[@]}" | sort -t, -k6 -g | sed -n "$(( (rounds + 1) / 2 ))p" | tee -a "$csv"
}
say "herd: ${threads[*]} threads, $rounds rounds of ${duration}s, servers $servers"
for t in "${threads[@]}"; do
  for mode in plain lease; do point invalidation "$mode" "$t"; done
done
for mode in plain lease; do point expiry "$mode" 64; done
gnuplot -e "dir='$out'" "$MCRING_ROOT/bench/herd.gp"
say "wrote $csv and $out/herd.png"
