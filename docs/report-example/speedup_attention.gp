# kbench report: speedup_attention - attention: speed-up over attention.reference (run 1)
# Draws speedup_attention.dat. Re-render in this folder: gnuplot speedup_attention.gp
# (another format: gnuplot -e 'fmt="svg"' speedup_attention.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "speedup_attention.".fmt
set encoding utf8
set title "attention: speed-up over attention.reference (run 1)"
set xlabel "sequence length N (log scale)"
set ylabel "speed-up: time of attention.reference / time (log scale; > 1 is faster)"
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
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#444444"
plot "speedup_attention.dat" index 0 using 1:2 with linespoints lt 1 pt 7 ps 0.6 title "attention.flash [cpu, f32] non-causal"
