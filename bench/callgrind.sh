#!/usr/bin/env bash
# User-space instructions per single-key get, counted by callgrind (exact
# and repeatable, unlike time on a shared machine), for mcring,
# libmemcached and the bare socket loop: each runs N and 2N sequential gets
# against a local memcached, and the difference divided by N is the cost
# of one get, start-up and key storing cancelled out.
#
#   bench/callgrind.sh [N]     (default 2000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

ensure_packages
configure_build build
n=${1:-2000}
trap stop_started EXIT
port=$(free_port)
start_memcached "$port" -t 1
server="127.0.0.1:$port"

count() { # driver ops -> instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$MCRING_ROOT/build/bench/compare" --servers "$server" --driver "$1" \
    --ops "$2" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-14s %14s\n' driver instructions_per_get
for d in mcring libmemcached floor; do
  a=$(count "$d" "$n")
  b=$(count "$d" $((2 * n)))
  printf '%-14s %14d\n' "$d" $(( (b - a) / n ))
done
