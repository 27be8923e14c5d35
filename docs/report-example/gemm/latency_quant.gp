# kbench report: latency_quant - quant: median time per call vs GEMM rows M (run 2)
# Draws latency_quant.dat. Re-render in this folder: gnuplot latency_quant.gp
# (another format: gnuplot -e 'fmt="svg"' latency_quant.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "latency_quant.".fmt
set encoding utf8
set title "quant: median time per call vs GEMM rows M (run 2)"
set xlabel "GEMM rows M (rows, log scale)"
set ylabel "median time per call (ms, log scale)"
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
set title "quant: median time per call vs GEMM rows M (run 2)"."\n"."fixed: N=512 K=512 g=128"
set logscale x 2
set logscale y 10
set format x "%g"
set format y "%g"
set offsets graph 0.03, graph 0.03, 0, 0
# dashed: the least-squares fit t = c * M^p (p and its 95% CI in the legend)
set arrow from 20.2606, graph 0 to 20.2606, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "quant.gemm_int8@cpu = quant.gemm_w4a8@cpu at M ≈ 20" at 20.2606, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
fit1(x) = 0.0134769043 * x**0.902574
fit2(x) = 1.14975305 * x**0.841099
fit3(x) = 0.00462471237 * x**1.37954
fit4(x) = 0.00679582078 * x**1.33497
plot "latency_quant.dat" index 0 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 1 pt 7 ps 0.6 title "quant.gemm_int8 [cpu, i8]  t ~ M^0.90 [-0.41, 2.22]", \
     fit1(x) with lines lt 1 dt 2 lw 1 notitle, \
     "latency_quant.dat" index 1 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 2 pt 7 ps 0.6 title "quant.gemm_int8 [cpu.naive, i8]  t ~ M^0.84 [0.58, 1.10]", \
     fit2(x) with lines lt 2 dt 2 lw 1 notitle, \
     "latency_quant.dat" index 2 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 3 pt 7 ps 0.6 title "quant.gemm_w4a8 [cpu, i8]  t ~ M^1.38 [0.79, 1.97]", \
     fit3(x) with lines lt 3 dt 2 lw 1 notitle, \
     "latency_quant.dat" index 3 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 4 pt 7 ps 0.6 title "gemm.f32 [cpu.blas, f32]  t ~ M^1.33 [0.73, 1.94]", \
     fit4(x) with lines lt 4 dt 2 lw 1 notitle
