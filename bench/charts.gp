# gnuplot charts of the comparison suite's medians (bench/compare.sh).
# Call with: gnuplot -e "dir='OUT'" bench/charts.gp
set terminal pngcairo size 900,560 font ",11" noenhanced
set key top left
set grid
set style data linespoints

set output dir."/throughput.png"
set title "Single-key mix (90% get, 100-byte values): throughput"
set xlabel "client threads"
set ylabel "operations per second"
set logscale x 2
plot dir."/mix.dat" using 1:2 title "mcring" lw 2, \
     "" using 1:3 title "libmemcached memcached_pool" lw 2, \
     "" using 1:4 title "bare socket loop (floor)" lw 2 dt 2

set output dir."/p99.png"
set title "Single-key mix: p99 latency per call"
set ylabel "p99 latency (microseconds)"
plot dir."/mix.dat" using 1:5 title "mcring" lw 2, \
     "" using 1:6 title "libmemcached memcached_pool" lw 2, \
     "" using 1:7 title "bare socket loop (floor)" lw 2 dt 2

set output dir."/multiget.png"
set title "Multi-get across three servers, one thread"
set xlabel "keys per multi-get"
set ylabel "keys per second"
set logscale x 10
plot dir."/mget.dat" using 1:2 title "mcring get_multi" lw 2, \
     "" using 1:3 title "libmemcached memcached_mget" lw 2, \
     "" using 1:4 title "bare socket loop (floor)" lw 2 dt 2
