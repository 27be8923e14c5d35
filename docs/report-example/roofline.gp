# kbench report: roofline - Roofline: achieved FLOP/s vs arithmetic intensity (run 1)
# Draws roofline.dat. Re-render in this folder: gnuplot roofline.gp
# (another format: gnuplot -e 'fmt="svg"' roofline.gp; png, svg and pdf are known)
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") { set terminal pngcairo size 960,600 noenhanced font "DejaVu Sans,10" background rgb "white" }
if (fmt eq "svg") { set terminal svg size 960,600 noenhanced font "DejaVu Sans,11" background rgb "white" }
if (fmt eq "pdf") { set terminal pdfcairo size 10.00in,6.25in noenhanced font "DejaVu Sans,9" }
set output "roofline.".fmt
set encoding utf8
set title "Roofline: achieved FLOP/s vs arithmetic intensity (run 1)"
set xlabel "arithmetic intensity (FLOP per byte of minimal traffic, log scale)"
set ylabel "GFLOP/s (log scale)"
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
set format y "%g"
set xrange [1.05959:1536]
set samples 400
roof1(x) = (x * 12.5025 < 39.7428) ? x * 12.5025 : 39.7428
# legend: 4 entries, at most 4 rows (1 column), anchored at the foot of the canvas; the
# bottom margin holds its rows, the tic labels, the x label and a gap, so the x label stays clear
set key below left vertical Left reverse maxcols 1 noautotitle samplen 3 font ",9"
set bmargin 8
plot roof1(x) with lines lw 2 dt 1 lc rgb "#444444" title "roof, 1 thread: 39.7 GFLOP/s, 12.5 GB/s (measured)", \
     "roofline.dat" index 0 using 1:2 with points lt 1 pt 7 ps 0.8 title "attention.flash [cpu, f32] non-causal", \
     "roofline.dat" index 1 using 1:2 with points lt 2 pt 7 ps 0.8 title "attention.flash [cpu, f32] causal", \
     "roofline.dat" index 2 using 1:2 with points lt 3 pt 7 ps 0.8 title "attention.reference [cpu.f64, f32] non-causal"
