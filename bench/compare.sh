#!/usr/bin/env bash
# The comparison suite: starts four memcached servers (-t 1) on free
# loopback ports; runs mcring pipelined (the defaults: 2 connections per
# server), mcring per-thread (pipelining = false, a connection per thread),
# libmemcached's memcached_pool, a bare socket loop and the mcring of the
# tree before pipelining (OLD_REF, built here) through the same workloads,
# alternating them in each round; writes the CSV, the medians, the targets
# and PNG charts.
#
#   bench/compare.sh [OUT_DIR]        (default bench/out)
#
# Environment (defaults in brackets; about 17 minutes on 2 cores):
#   DURATION      seconds per run [3]
#   ROUNDS        rounds, each driver once per round [5]
#   THREADS       thread counts of the single-key mix [1,4,16,64,256]
#   KEY_DISTS     key distributions [uniform,zipf:0.99]
#   BATCHES       multi-get batch sizes, one thread, or "none" [10,100,1000]
#   VALUE_SIZE    bytes per value, N or MIN-MAX [100]
#   DRIVERS       [pipelined,meta,per-thread,libmemcached,floor]
#   SWAP_THREADS  threads of the swap run (pipelined, a ring swap every
#                 10 ms), 0 for none [64]
#   SYSCALLS      0: do not count system calls (perf tracepoints slow every
#                 system call on the machine a little, servers' included,
#                 but not the old tree's runs, which are not counted) [1]
#   OLD_REF       git revision of the older mcring, "" for none
#                 [2d1ac05^: the tree before pipelining]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

ensure_packages
configure_build build
out=${1:-$MCRING_ROOT/bench/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The older tree's command-line tool.
old_args=()
old_ref=${OLD_REF-2d1ac05^}
if [ -n "$old_ref" ]; then
  old_build=$(build_old_tree "$old_ref" tools/mcring)
  old_args=(--old-mcring "$old_build/tools/mcring")
fi

nosys=()
[ "${SYSCALLS:-1}" = 0 ] && nosys=(--no-syscalls)

trap stop_started EXIT
ports=()
for i in 1 2 3 4; do
  port=$(free_port)
  start_memcached "$port" -t 1 -m 256 -c 4096
  ports+=("$port")
done
pids=$(IFS=,; echo "${MCRING_STARTED_PIDS[*]}")
three="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
four="$three,127.0.0.1:${ports[3]}"

say "comparing on $(nproc) cores against $three"
"$MCRING_ROOT/build/bench/compare" --servers "$three" --swap-list "$four" \
  --duration "${DURATION:-3}" --rounds "${ROUNDS:-5}" \
  --threads "${THREADS:-1,4,16,64,256}" \
  --key-dists "${KEY_DISTS:-uniform,zipf:0.99}" \
  --batches "${BATCHES:-10,100,1000}" --value-size "${VALUE_SIZE:-100}" \
  --drivers "${DRIVERS:-pipelined,meta,per-thread,libmemcached,floor}" \
  --swap-threads "${SWAP_THREADS:-64}" --server-pids "$pids" \
  "${old_args[@]}" ${nosys[@]+"${nosys[@]}"} \
  --csv "$out/compare.csv" --out "$out" \
  | tee "$out/summary.txt"

gnuplot -e "dir='$out'; dists='$(cat "$out/dists")'" "$MCRING_ROOT/bench/charts.gp"
say "wrote $out/compare.csv, summary.txt and the charts" \
  "(throughput-, p99-, syscalls-<keys>.png, multiget.png)"
