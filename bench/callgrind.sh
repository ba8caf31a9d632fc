#!/usr/bin/env bash
# User-space instructions per single-key get, counted by callgrind (exact
# and repeatable, unlike time on a shared machine), for mcring pipelined
# (the defaults), mcring per-thread (pipelining = false), libmemcached, the
# bare socket loop and, when OLD_REF names a revision (default: the tree
# before pipelining), the mcring of that tree: each runs N and 2N
# sequential gets against a local memcached, and the difference divided by
# N is the cost of one get, start-up and key storing cancelled out.
#
#   bench/callgrind.sh [N]     (default 2000; OLD_REF="" leaves the old
#                               tree out)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

ensure_packages
configure_build build
n=${1:-2000}
old_ref=${OLD_REF-2d1ac05^}
old_build=""
[ -n "$old_ref" ] && old_build=$(build_old_tree "$old_ref" bench/compare)
trap stop_started EXIT
port=$(free_port)
start_memcached "$port" -t 1
server="127.0.0.1:$port"

count() { # compare-binary driver ops -> instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$1" --servers "$server" --driver "$2" --ops "$3" 2>&1 >/dev/null \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
row() { # label compare-binary driver
  local a b
  a=$(count "$2" "$3" "$n")
  b=$(count "$2" "$3" $((2 * n)))
  printf '%-22s %14d\n' "$1" $(( (b - a) / n ))
}
printf '%-22s %14s\n' driver instructions_per_get
compare="$MCRING_ROOT/build/bench/compare"
row "mcring pipelined" "$compare" pipelined
row "mcring per-thread" "$compare" per-thread
row libmemcached "$compare" libmemcached
row floor "$compare" floor
[ -n "$old_build" ] && row "mcring (old tree)" "$old_build/bench/compare" mcring
exit 0
