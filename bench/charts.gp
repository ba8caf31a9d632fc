# gnuplot charts of the comparison suite's medians (bench/compare.sh).
# Call with:
#   gnuplot -e "dir='OUT'; dists='uniform zipf0.99'" bench/charts.gp
# For each key distribution D, from OUT/mix-D.dat: throughput-D.png,
# p99-D.png and syscalls-D.png (threads on a log scale); from
# OUT/mget.dat: multiget.png. A driver that did not run (NaN) is left out.
set terminal pngcairo size 900,600 font ",11" noenhanced
set key top left
set grid
set style data linespoints

if (!exists("dists")) dists = "uniform"

# The drivers in the order of the .dat columns (compare.c, driver_names).
array title[6] = ["mcring pipelined, 2 conns/server (text)", \
                  "mcring per-thread (pipelining=false)", \
                  "libmemcached memcached_pool", \
                  "bare socket loop (floor)", \
                  "mcring before pipelining (old tree)", \
                  "mcring pipelined, protocol=meta"]
array dash[6] = [1, 1, 1, 2, 3, 1]
array colour[6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#555555", "#d62728", \
                   "#9467bd"]

# Column of driver i (1..6) in block b: 0 ops/s, 1 p99, 2 socket calls/op,
# 3 futex/op.
col(b, i) = 1 + 6 * b + i

set xlabel "client threads"
set logscale x 2
do for [d in dists] {
    file = dir."/mix-".d.".dat"

    set output dir."/throughput-".d.".png"
    set title "Single-key mix, ".d." keys (90% get, 3 servers): throughput"
    set ylabel "operations per second"
    set yrange [0:*]
    plot for [i=1:6] file using 1:col(0, i) title title[i] lw 2 \
         dt dash[i] lc rgb colour[i]

    set output dir."/p99-".d.".png"
    set title "Single-key mix, ".d." keys: p99 latency per call"
    set ylabel "p99 latency (microseconds)"
    set logscale y 10
    set yrange [*:*]
    plot for [i=1:6] file using 1:col(1, i) title title[i] lw 2 \
         dt dash[i] lc rgb colour[i]
    unset logscale y

    set output dir."/syscalls-".d.".png"
    set title "Single-key mix, ".d." keys: system calls per operation " \
              ."(solid: send/recv family; dashed: futex)"
    set ylabel "system calls per operation"
    set yrange [0:*]
    set key outside bottom center maxrows 4
    plot for [i in "1 2 3 4 6"] file using 1:col(2, i+0) \
         title title[i+0]." socket" lw 2 dt 1 lc rgb colour[i+0], \
         for [i in "1 2 3 6"] file using 1:col(3, i+0) \
         title title[i+0]." futex" lw 2 dt 2 lc rgb colour[i+0]
    set key default top left
}

set output dir."/multiget.png"
set title "Multi-get across three servers, one thread"
set xlabel "keys per multi-get"
set ylabel "keys per second"
set logscale x 10
set yrange [0:*]
plot for [i=1:6] dir."/mget.dat" using 1:(column(1 + i)) title title[i] \
     lw 2 dt dash[i] lc rgb colour[i]
