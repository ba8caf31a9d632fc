#!/usr/bin/env bash
# The async API against the blocking API (issue 13): one thread running an
# epoll loop that keeps N requests in flight (`mcring bench --async N`)
# against 1, 16 and 64 blocking threads on the same client defaults (2
# pipelined connections per server), on the same three memcached servers
# (-t 1), the same workload (90% get, 100-byte values, 2,000 keys),
# alternating the runs round by round, and the async runs again with
# protocol = meta. Prints each run's last line and a table of medians:
# ops/s, p99, client CPU per operation (getrusage), the servers' CPU per
# operation (/proc/PID/stat), socket calls per operation.
#
#   bench/async.sh [OUT_DIR]          (default bench/out-async)
#
# Environment: DURATION seconds per run [3], ROUNDS [5],
#   BLOCKING thread counts [1,16,64], INFLIGHT requests in flight [16,64,256],
#   META_INFLIGHT the same with protocol = meta, or "none" [64,256],
#   OPTS extra -o NAME=VALUE options for every run [none].
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

ensure_packages
configure_build build
out=${1:-$MCRING_ROOT/bench/out-async}
mkdir -p "$out"
duration=${DURATION:-3}
rounds=${ROUNDS:-5}
IFS=, read -r -a blocking <<< "${BLOCKING:-1,16,64}"
IFS=, read -r -a inflight <<< "${INFLIGHT:-16,64,256}"
meta_inflight=()
[ "${META_INFLIGHT:-}" = none ] ||
  IFS=, read -r -a meta_inflight <<< "${META_INFLIGHT:-64,256}"
opts=()
for o in ${OPTS:-}; do opts+=(-o "$o"); done

trap stop_started EXIT
ports=()
for i in 1 2 3; do
  port=$(free_port)
  start_memcached "$port" -t 1 -m 256 -c 4096
  ports+=("$port")
done
servers="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
server_pids=("${MCRING_STARTED_PIDS[@]}")
# The servers' CPU so far, in clock ticks (utime + stime).
server_ticks() {
  local pid t=0 f
  for pid in "${server_pids[@]}"; do
    read -r -a f < "/proc/$pid/stat"
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
cli="$MCRING_ROOT/build/tools/mcring"

runs=()
for t in "${blocking[@]}"; do runs+=("threads $t"); done
for n in "${inflight[@]}"; do runs+=("async $n"); done
for n in "${meta_inflight[@]}"; do runs+=("async-meta $n"); done

: > "$out/runs.txt"
say "async against blocking on $(nproc) cores, $rounds rounds of ${duration}s"
for r in $(seq "$rounds"); do
  k=0
  for i in "${!runs[@]}"; do
    # Rotate the order each round, so no run always follows the same one.
    run=${runs[$(( (i + r) % ${#runs[@]} ))]}
    read -r kind n <<< "$run"
    proto=()
    if [ "$kind" = threads ]; then
      args=(bench --threads "$n" --duration "$duration")
    else
      args=(bench --async "$n" --duration "$duration")
      [ "$kind" = async-meta ] && proto=(-o protocol=meta)
    fi
    t0=$(server_ticks)
    line=$("$cli" -s "$servers" "${opts[@]}" "${proto[@]}" "${args[@]}" |
      tail -1)
    t1=$(server_ticks)
    ops=$(tr ' ' '\n' <<< "$line" | sed -n 's/^ops=//p')
    server_us=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v ops="$ops" \
      'BEGIN { printf "%.2f", (ops > 0 ? t * 1e6 / hz / ops : 0) }')
    echo "$kind=$n round=$r $line server_us_per_op=$server_us" |
      tee -a "$out/runs.txt"
    k=$((k + 1))
  done
done

/usr/bin/python3 - "$out/runs.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = dict(p.split("=", 1) for p in line.split() if "=" in p)
    key = line.split()[0].replace("=", " ")
    rows.setdefault(key, []).append(f)
def med(rs, k):
    v = [float(r[k]) for r in rs if r.get(k) not in (None, "n/a")]
    return statistics.median(v) if v else float("nan")
print("\n# medians over rounds")
print(f"{'run':<16} {'ops/s':>9} {'p99_us':>9} {'cpu_us/op':>10} "
      f"{'server_us/op':>12} {'socket/op':>10} {'futex/op':>9} "
      f"{'epoll/op':>9}")
for key, rs in rows.items():
    print(f"{key:<16} {med(rs,'ops_per_sec'):>9.0f} {med(rs,'p99_us'):>9.1f} "
          f"{med(rs,'cpu_us_per_op'):>10.2f} "
          f"{med(rs,'server_us_per_op'):>12.2f} "
          f"{med(rs,'socket_syscalls_per_op'):>10.3f} "
          f"{med(rs,'futex_per_op'):>9.3f} {med(rs,'epoll_per_op'):>9.3f}")
base = {r["round"]: r for r in rows.get("threads 64", [])}
if base:
    print("\n# against 64 blocking threads, paired by round (median, range);"
          " target: >= 2x ops/s at < 0.4x CPU per operation")
    for key, rs in rows.items():
        if not key.startswith("async"):
            continue
        o = [float(r["ops_per_sec"]) / float(base[r["round"]]["ops_per_sec"])
             for r in rs if r["round"] in base]
        c = [float(r["cpu_us_per_op"]) / float(base[r["round"]]["cpu_us_per_op"])
             for r in rs if r["round"] in base]
        if not o:
            continue
        om, cm = statistics.median(o), statistics.median(c)
        ok = "met" if om >= 2 and cm < 0.4 else "MISSED"
        print(f"{key:<16} ops/s {om:5.2f}x ({min(o):.2f}-{max(o):.2f})  "
              f"cpu/op {cm:5.2f}x ({min(c):.2f}-{max(c):.2f})  {ok}")
PY
