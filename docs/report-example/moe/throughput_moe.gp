# kbench report: throughput_moe - moe: throughput vs MoE tokens T (run 1)
# Draws throughput_moe.dat. Re-render in this folder: gnuplot throughput_moe.gp
# (another format: gnuplot -e 'fmt="svg"' throughput_moe.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "throughput_moe.".fmt
set encoding utf8
set title "moe: throughput vs MoE tokens T (run 1)"
set xlabel "MoE tokens T (tokens, log scale)"
set ylabel "GFLOP/s (10^9 useful FLOP per second)"
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set key below left vertical Left reverse maxcols 1 noautotitle samplen 3 font ",9"
set border 3
set tics nomirror
# colour-blind-safe line colours (Okabe-Ito, then Tableau), none pale on white
set linetype 1 lc rgb "#0072b2" lw 1.5
set linetype 2 lc rgb "#d55e00" lw 1.5
set linetype 3 lc rgb "#009e73" lw 1.5
set linetype 4 lc rgb "#cc79a7" lw 1.5
set linetype 5 lc rgb "#e69f00" lw 1.5
set linetype 6 lc rgb "#56b4e9" lw 1.5
set linetype 7 lc rgb "#000000" lw 1.5
set linetype 8 lc rgb "#8c564b" lw 1.5
set linetype 9 lc rgb "#7f7f7f" lw 1.5
set linetype 10 lc rgb "#bcbd22" lw 1.5
set linetype cycle 10
set title "moe: throughput vs MoE tokens T (run 1)"."\n"."fixed: hid=256 f=512 E=8 top=2"
set logscale x 2
set format x "%g"
set yrange [0:19.8637]
set offsets graph 0.03, graph 0.03, 0, 0
set label "f32 ceiling, 1 thread (nominal): 147.2 GFLOP/s - above the plot" at graph 0.02, graph 0.97 font ",8" tc rgb "#555555"
plot "throughput_moe.dat" index 0 using 1:2 with linespoints lt 1 pt 7 ps 0.6 title "moe.router [cpu, f32] route=uniform", \
     "throughput_moe.dat" index 1 using 1:2 with linespoints lt 2 pt 7 ps 0.6 title "moe.router [cpu, f32] route=zipf", \
     "throughput_moe.dat" index 2 using 1:2 with linespoints lt 3 pt 7 ps 0.6 title "moe.combine [cpu, f32] route=uniform", \
     "throughput_moe.dat" index 3 using 1:2 with linespoints lt 4 pt 7 ps 0.6 title "moe.combine [cpu, f32] route=zipf", \
     "throughput_moe.dat" index 4 using 1:2 with linespoints lt 5 pt 7 ps 0.6 title "moe.experts [cpu, f32] route=uniform", \
     "throughput_moe.dat" index 5 using 1:2 with linespoints lt 6 pt 7 ps 0.6 title "moe.experts [cpu, f32] route=zipf", \
     "throughput_moe.dat" index 6 using 1:2 with linespoints lt 7 pt 7 ps 0.6 title "moe.layer [cpu.unfused, f32] route=uniform", \
     "throughput_moe.dat" index 7 using 1:2 with linespoints lt 8 pt 7 ps 0.6 title "moe.layer [cpu.unfused, f32] route=zipf", \
     "throughput_moe.dat" index 8 using 1:2 with linespoints lt 9 pt 7 ps 0.6 title "moe.layer [cpu.fused, f32] route=uniform", \
     "throughput_moe.dat" index 9 using 1:2 with linespoints lt 10 pt 7 ps 0.6 title "moe.layer [cpu.fused, f32] route=zipf"
