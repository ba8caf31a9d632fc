# Charts of bench/outage.sh: one outage under the three policies, per
# second. Call with:
#   gnuplot -e "dir='OUT'; set='kill-t3'; down=10; up=40; end=60" bench/outage.gp
set terminal pngcairo size 1100,760 font ",10" noenhanced
set output dir."/outage-".set.".png"
set multiplot layout 2,2 title sprintf("One of 8 servers %s at %d s for %d s, tries %s: Swift's error limiting, health probes, health probes + gutter", set[1:4] eq "stop" ? "stopped" : "killed", down, up - down, set[strlen(set):strlen(set)])
set grid
set key below font ",9"
set xlabel "second"
set xrange [0:end]
set style data lines
set object 1 rect from down, graph 0 to up, graph 1 fc rgb "#eeeeee" behind
f(name) = dir."/".set."-".name.".dat"

set title "client-visible errors per second"
set ylabel "errors"
set yrange [0:*]
plot f("swift") using 1:5 title "swift" lw 2, \
     f("probe") using 1:5 title "probe" lw 2, \
     f("gutter") using 1:5 title "probe + gutter" lw 2

set title "hit rate"
set ylabel "% of gets"
set yrange [0:100]
plot f("swift") using 1:($7*100) title "swift, all keys" lw 2, \
     f("probe") using 1:($7*100) title "probe, all keys" lw 2, \
     f("gutter") using 1:($7*100) title "probe + gutter, all keys" lw 2, \
     f("swift") using 1:($8*100) title "swift, dead server's keys" lw 1 dt 2 lc 1, \
     f("probe") using 1:($8*100) title "probe, dead server's keys" lw 1 dt 2 lc 2, \
     f("gutter") using 1:($8*100) title "probe + gutter, dead server's keys" lw 1 dt 2 lc 3
set yrange [*:*]

set title "origin fetches per second (gets that missed or failed)"
set ylabel "fetches"
plot f("swift") using 1:6 title "swift" lw 2, \
     f("probe") using 1:6 title "probe" lw 2, \
     f("gutter") using 1:6 title "probe + gutter" lw 2

set title "connect attempts per second (dashed: to the dead server, probes included)"
set ylabel "connects"
plot f("swift") using 1:10 title "swift, all" lw 2, \
     f("probe") using 1:10 title "probe, all" lw 2, \
     f("gutter") using 1:10 title "probe + gutter, all" lw 2, \
     f("swift") using 1:($11+$12) title "swift, dead server" lw 1 dt 2 lc 1, \
     f("probe") using 1:($11+$12) title "probe, dead server" lw 1 dt 2 lc 2, \
     f("gutter") using 1:($11+$12) title "probe + gutter, dead server" lw 1 dt 2 lc 3
unset multiplot
