# Charts bench/herd.sh's herd.csv: origin calls per invalidation and read
# latency (p99), plain get/set against leases, by reader threads.
#   gnuplot -e "dir='bench/out'" bench/herd.gp
set terminal pngcairo size 1100,420 font ",10"
set output dir."/herd.png"
set datafile separator ","
set key top left
plain = "< grep '^invalidation,plain,' ".dir."/herd.csv"
lease = "< grep '^invalidation,lease,' ".dir."/herd.csv"
set multiplot layout 1,2 title "One hot key, a 5 ms origin, invalidated every 100 ms (bench/herd.sh)"
set xlabel "reader threads"
set logscale x 2
set xrange [6:80]
set xtics (8, 16, 32, 64)
set logscale y
set ylabel "origin calls per invalidation"
set yrange [0.5:100]
set grid
plot plain using 3:6 with linespoints lw 2 pt 7 title "plain get/set", \
     lease using 3:6 with linespoints lw 2 pt 5 title "leases"
unset logscale y
set yrange [0:*]
set ylabel "read latency p99 (ms)"
plot plain using 3:($11/1000) with linespoints lw 2 pt 7 title "plain get/set", \
     lease using 3:($11/1000) with linespoints lw 2 pt 5 title "leases"
unset multiplot
