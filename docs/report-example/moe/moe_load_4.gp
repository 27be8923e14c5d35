# kbench report: moe_load_4 - Expert load: tokens per expert, T=1024 hid=256 f=512 E=8 top=2 route=zipf (run 1)
# Draws moe_load_4.dat. Re-render in this folder: gnuplot moe_load_4.gp
# (another format: gnuplot -e 'fmt="svg"' moe_load_4.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "moe_load_4.".fmt
set encoding utf8
set title "Expert load: tokens per expert, T=1024 hid=256 f=512 E=8 top=2 route=zipf (run 1)"
set xlabel "expert (counter moe.load.<expert>)"
set ylabel "tokens routed to the expert"
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
set title "Expert load: tokens per expert, T=1024 hid=256 f=512 E=8 top=2 route=zipf (run 1)"."\n"."measured in moe.experts@cpu, moe.layer@cpu.unfused, moe.layer@cpu.fused"
set style fill solid 0.7 border -1
set boxwidth 0.8
set yrange [0:*]
set xrange [-0.7:7.7]
set key off
set grid noxtics
set arrow from graph 0, first 256 to graph 1, first 256 nohead dt 2 lc rgb "#d55e00"
set label "uniform share: 256 tokens" at graph 0.99, first 256 right offset 0,0.6 tc rgb "#d55e00"
plot "moe_load_4.dat" index 0 using 1:2:xtic(3) with boxes lc rgb "#0072b2"
