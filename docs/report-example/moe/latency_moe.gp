# kbench report: latency_moe - moe: median time per call vs MoE tokens T (run 1)
# Draws latency_moe.dat. Re-render in this folder: gnuplot latency_moe.gp
# (another format: gnuplot -e 'fmt="svg"' latency_moe.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "latency_moe.".fmt
set encoding utf8
set title "moe: median time per call vs MoE tokens T (run 1)"
set xlabel "MoE tokens T (tokens, log scale)"
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
set title "moe: median time per call vs MoE tokens T (run 1)"."\n"."fixed: hid=256 f=512 E=8 top=2"
set logscale x 2
set logscale y 10
set format x "%g"
set format y "%g"
set offsets graph 0.03, graph 0.03, 0, 0
# dashed: the least-squares fit t = c * T^p (p and its 95% CI in the legend)
set arrow from 187.617, graph 0 to 187.617, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "moe.layer@cpu.unfused = moe.layer@cpu.fused at T ≈ 188 (route=uniform)" at 187.617, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
set arrow from 472.608, graph 0 to 472.608, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "moe.layer@cpu.unfused = moe.layer@cpu.fused at T ≈ 473 (route=uniform)" at 472.608, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
set arrow from 613.55, graph 0 to 613.55, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "moe.layer@cpu.unfused = moe.layer@cpu.fused at T ≈ 614 (route=uniform)" at 613.55, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
set arrow from 156.015, graph 0 to 156.015, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "moe.layer@cpu.unfused = moe.layer@cpu.fused at T ≈ 156 (route=zipf)" at 156.015, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
set arrow from 449.452, graph 0 to 449.452, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "moe.layer@cpu.unfused = moe.layer@cpu.fused at T ≈ 449 (route=zipf)" at 449.452, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
set arrow from 845.883, graph 0 to 845.883, graph 1 nohead dt 3 lc rgb "#aa3333"
set label "moe.layer@cpu.unfused = moe.layer@cpu.fused at T ≈ 846 (route=zipf)" at 845.883, graph 0.03 rotate by 90 left offset -0.6,0 font ",8" tc rgb "#aa3333"
fit1(x) = 0.000155983915 * x**1.09904
fit2(x) = 0.000134024611 * x**1.11909
fit3(x) = 4.86268065e-05 * x**1.09326
fit4(x) = 5.10888157e-05 * x**1.08838
fit5(x) = 0.000374391315 * x**0.910202
fit6(x) = 0.000202489595 * x**1.01582
fit7(x) = 0.611230913 * x**0.734536
fit8(x) = 0.39513513 * x**0.81482
fit9(x) = 1.20160964 * x**0.641192
fit10(x) = 1.86763673 * x**0.560224
fit11(x) = 0.314728235 * x**0.867443
fit12(x) = 0.761625329 * x**0.713808
plot "latency_moe.dat" index 0 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 1 pt 7 ps 0.6 title "moe.router [cpu, f32] route=uniform  t ~ T^1.10 [0.81, 1.39]", \
     fit1(x) with lines lt 1 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 1 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 2 pt 7 ps 0.6 title "moe.router [cpu, f32] route=zipf  t ~ T^1.12 [0.86, 1.37]", \
     fit2(x) with lines lt 2 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 2 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 3 pt 7 ps 0.6 title "moe.dispatch [cpu, f32] route=uniform  t ~ T^1.09 [0.76, 1.43]", \
     fit3(x) with lines lt 3 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 3 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 4 pt 7 ps 0.6 title "moe.dispatch [cpu, f32] route=zipf  t ~ T^1.09 [0.80, 1.38]", \
     fit4(x) with lines lt 4 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 4 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 5 pt 7 ps 0.6 title "moe.combine [cpu, f32] route=uniform  t ~ T^0.91 [0.74, 1.08]", \
     fit5(x) with lines lt 5 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 5 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 6 pt 7 ps 0.6 title "moe.combine [cpu, f32] route=zipf  t ~ T^1.02 [0.91, 1.12]", \
     fit6(x) with lines lt 6 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 6 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 7 pt 7 ps 0.6 title "moe.experts [cpu, f32] route=uniform  t ~ T^0.73 [0.58, 0.89]", \
     fit7(x) with lines lt 7 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 7 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 8 pt 7 ps 0.6 title "moe.experts [cpu, f32] route=zipf  t ~ T^0.81 [0.69, 0.94]", \
     fit8(x) with lines lt 8 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 8 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 9 pt 7 ps 0.6 title "moe.layer [cpu.unfused, f32] route=uniform  t ~ T^0.64 [0.20, 1.09]", \
     fit9(x) with lines lt 9 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 9 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 10 pt 7 ps 0.6 title "moe.layer [cpu.unfused, f32] route=zipf  t ~ T^0.56 [-0.11, 1.23]", \
     fit10(x) with lines lt 10 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 10 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 11 pt 7 ps 0.6 title "moe.layer [cpu.fused, f32] route=uniform  t ~ T^0.87 [0.55, 1.19]", \
     fit11(x) with lines lt 11 dt 2 lw 1 notitle, \
     "latency_moe.dat" index 11 using 1:($2*1000):($3*1000):($4*1000) with yerrorlines lt 12 pt 7 ps 0.6 title "moe.layer [cpu.fused, f32] route=zipf  t ~ T^0.71 [0.32, 1.11]", \
     fit12(x) with lines lt 12 dt 2 lw 1 notitle
