# Charts bench/herd.sh's herd.csv: origin calls per invalidation and read
# latency (p99), plain get/set against leases, by reader threads.
#   gnuplot -e "dir='bench/out'" bench/herd.gp
set terminal pngcairo size 1100,420 font ",10"
set output dir."/herd.png"
set datafile separator ","
set key top left
set multiplot layout 1,2 title "One hot key, a 5 ms origin, invalidated every 100 ms"
set xlabel "reader threads"
set logscale x 2
set xtics (8, 16, 32, 64)
set logscale y
set ylabel "origin calls per invalidation"
set yrange [0.5:100]
set grid
plot dir."/herd.csv" using ($3):(strcol(1) eq "invalidation" && strcol(2) eq "plain" ? $6 : 1/0) \
       with linespoints lw 2 pt 7 title "plain get/set", \
     "" using ($3):(strcol(1) eq "invalidation" && strcol(2) eq "lease" ? $6 : 1/0) \
       with linespoints lw 2 pt 5 title "leases"
unset logscale y
set yrange [0:*]
set ylabel "read latency p99 (ms)"
plot dir."/herd.csv" using ($3):(strcol(1) eq "invalidation" && strcol(2) eq "plain" ? $11/1000 : 1/0) \
       with linespoints lw 2 pt 7 title "plain get/set", \
     "" using ($3):(strcol(1) eq "invalidation" && strcol(2) eq "lease" ? $11/1000 : 1/0) \
       with linespoints lw 2 pt 5 title "leases"
unset multiplot
