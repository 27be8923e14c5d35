# kbench report: throughput_quant - quant: throughput vs GEMM rows M (run 2)
# Draws throughput_quant.dat. Re-render in this folder: gnuplot throughput_quant.gp
# (another format: gnuplot -e 'fmt="svg"' throughput_quant.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "throughput_quant.".fmt
set encoding utf8
set title "quant: throughput vs GEMM rows M (run 2)"
set xlabel "GEMM rows M (rows, log scale)"
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
set title "quant: throughput vs GEMM rows M (run 2)"."\n"."fixed: N=512 K=512 g=128"
set logscale x 2
set format x "%g"
set yrange [0:184.785]
set offsets graph 0.03, graph 0.03, 0, 0
set arrow from graph 0, first 147.2 to graph 1, first 147.2 nohead dt 4 lc rgb "#777777"
set label "f32 ceiling, 1 thread (nominal): 147.2 GFLOP/s" at graph 0.02, first 147.2 offset 0,0.6 font ",8" tc rgb "#555555"
plot "throughput_quant.dat" index 0 using 1:2 with linespoints lt 1 pt 7 ps 0.6 title "quant.gemm_int8 [cpu, i8]", \
     "throughput_quant.dat" index 1 using 1:2 with linespoints lt 2 pt 7 ps 0.6 title "quant.gemm_int8 [cpu.naive, i8]", \
     "throughput_quant.dat" index 2 using 1:2 with linespoints lt 3 pt 7 ps 0.6 title "quant.gemm_w4a8 [cpu, i8]", \
     "throughput_quant.dat" index 3 using 1:2 with linespoints lt 4 pt 7 ps 0.6 title "gemm.f32 [cpu.blas, f32]"
