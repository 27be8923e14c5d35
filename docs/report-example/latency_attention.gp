# kbench report: latency_attention - attention: median time per call vs sequence length (run 1)
# Draws latency_attention.dat. Re-render in this folder: gnuplot latency_attention.gp
# (another format: gnuplot -e 'fmt="svg"' latency_attention.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "latency_attention.".fmt
set encoding utf8
set title "attention: median time per call vs sequence length (run 1)"
set xlabel "sequence length N (log scale)"
set ylabel "median time per call (ms), log scale"
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
set logscale x 2
set logscale y 10
set format x "%g"
set format y "%g"
set offsets graph 0.03, graph 0.03, 0, 0
# dashed: the least-squares fit t = c * N^p (p and its 95% CI in the legend)
fit1(x) = 3.41310086e-05 * x**1.99759
fit2(x) = 5.86472183e-05 * x**1.83659
fit3(x) = 0.000650363654 * x**1.99599
plot "latency_attention.dat" index 0 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 1 pt 7 ps 0.6 title "attention.flash [cpu, f32] non-causal  p = 2.00 [1.96, 2.04]", \
     fit1(x) with lines lt 1 dt 2 lw 1 notitle, \
     "latency_attention.dat" index 1 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 2 pt 7 ps 0.6 title "attention.flash [cpu, f32] causal  p = 1.84 [1.71, 1.96]", \
     fit2(x) with lines lt 2 dt 2 lw 1 notitle, \
     "latency_attention.dat" index 2 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 3 pt 7 ps 0.6 title "attention.reference [cpu.f64, f32] non-causal  p = 2.00 (2 points, no CI)", \
     fit3(x) with lines lt 3 dt 2 lw 1 notitle
