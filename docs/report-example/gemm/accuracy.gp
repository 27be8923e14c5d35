# kbench report: accuracy - Accuracy vs speed (run 2)
# Draws accuracy.dat. Re-render in this folder: gnuplot accuracy.gp
# (another format: gnuplot -e 'fmt="svg"' accuracy.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "accuracy.".fmt
set encoding utf8
set title "Accuracy vs speed (run 2)"
set xlabel "median time per call (ms, log scale)"
set ylabel "relative L2 error against the float64 reference (log scale)"
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
set logscale xy 10
set format x "%g"
set format y "%.0e"
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot "accuracy.dat" index 0 using 1:2 with linespoints lt 1 pt 5 ps 0.8 title "quant.gemm_int8 [cpu, i8]", \
     "accuracy.dat" index 0 using 1:2:4 with labels offset 0,0.8 font ",7" tc lt 1 notitle, \
     "accuracy.dat" index 1 using 1:2 with linespoints lt 2 pt 5 ps 0.8 title "quant.gemm_int8 [cpu.naive, i8]", \
     "accuracy.dat" index 1 using 1:2:4 with labels offset 0,0.8 font ",7" tc lt 2 notitle, \
     "accuracy.dat" index 2 using 1:2 with linespoints lt 3 pt 5 ps 0.8 title "quant.gemm_w4a8 [cpu, i8]", \
     "accuracy.dat" index 2 using 1:2:4 with labels offset 0,0.8 font ",7" tc lt 3 notitle, \
     "accuracy.dat" index 3 using 1:2 with linespoints lt 4 pt 7 ps 0.8 title "gemm.f32 [cpu.blas, f32]", \
     "accuracy.dat" index 3 using 1:2:4 with labels offset 0,0.8 font ",7" tc lt 4 notitle
