#!/bin/sh
# layers.sh - the layers point one way (README.md, Layout). Every #include of the
# sources is resolved as the compiler resolves it (beside the including file first, then from the
# top of the tree, where -I$(top_srcdir) points) and the layer it reaches is checked:
#   kernels/<family>/, kernels/gpu/  implementations: the vocabulary, their own folders, datasets/
#   kernels/*.h, kernels/*.c         the vocabulary (descriptor, axes, dtypes, registry, verify):
#                                    only itself and datasets/; registry.c alone lists implementations
#   harness/                         the vocabulary and datasets/, never an implementation
#   reports/                         the harness and below
#   tui/                             the reports and below
#   bench/                           everything but an implementation's own header
#   datasets/                        the vocabulary
# An implementation is used only through the registry, so no part above kernels/ includes one.
# Every offending include is one failed check naming the file, the line and the header.
. "${top_srcdir:-.}/tests/lib.sh"
root=${top_srcdir:-.}

# layer_of PATH: sets $layer to the layer of a path relative to the tree's top ("" for none).
layer_of() {
    case $1 in
    kernels/*/*) layer=impl ;;
    kernels/*) layer=vocab ;;
    harness/*) layer=harness ;;
    reports/*) layer=reports ;;
    tui/*) layer=tui ;;
    bench/*) layer=bench ;;
    datasets/*) layer=datasets ;;
    *) layer= ;;
    esac
}

# why_not FROM TO FILE: empty when layer FROM may include layer TO, else the rule it breaks.
why_not() {
    case "$1>$2" in
    impl\>impl | impl\>vocab | impl\>datasets) ;;
    impl\>*) echo "an implementation includes no $2/ header: it shares only the vocabulary (kernels/*.h)" ;;
    vocab\>impl) [ "$3" = kernels/registry.c ] ||
        echo "the vocabulary names no implementation (kernels/registry.c alone lists them)" ;;
    vocab\>vocab | vocab\>datasets) ;;
    vocab\>*) echo "the vocabulary (kernels/*.h) stands below $2/" ;;
    *\>impl) echo "$1/ uses implementations only through the registry (kernels/kernel.h)" ;;
    harness\>harness | harness\>vocab | harness\>datasets) ;;
    reports\>reports | reports\>harness | reports\>vocab | reports\>datasets) ;;
    tui\>tui | tui\>reports | tui\>harness | tui\>vocab | tui\>datasets) ;;
    bench\>*) ;;
    datasets\>datasets | datasets\>vocab) ;;
    *) echo "$1/ never includes $2/: the layers point one way" ;;
    esac
}

# normalize PATH: folds "dir/../" and "./" out of a relative path.
normalize() {
    printf '%s\n' "$1" | awk -F/ '{
        n = 0
        for (i = 1; i <= NF; i++) {
            if ($i == "" || $i == ".") continue
            if ($i == ".." && n > 0 && part[n] != "..") { n--; continue }
            part[++n] = $i
        }
        s = part[1]; for (i = 2; i <= n; i++) s = s "/" part[i]; print s
    }'
}

# offences ROOT: prints "FILE:LINE: includes HEADER: RULE" for each include of the tree at ROOT
# that breaks a rule above.
offences() {
    (cd "$1" && find kernels harness reports tui bench datasets -type f \
        \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) 2>/dev/null | LC_ALL=C sort) |
    while IFS= read -r file; do
        layer_of "$file"; from=$layer
        dir=${file%/*}
        # the quoted form is looked up beside the file first; the angle form only along -I
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][^">]*[">]' "$1/$file" |
        sed 's/^\([0-9]*\):[[:space:]]*#[[:space:]]*include[[:space:]]*\(["<]\)\([^">]*\)[">].*/\1 \2 \3/' |
        while read -r line form inc; do
            target=
            if [ "$form" = '"' ] && [ -f "$1/$dir/$inc" ]; then
                target=$(normalize "$dir/$inc")
            elif [ -f "$1/$inc" ]; then
                target=$(normalize "$inc")
            fi
            [ -n "$target" ] || continue
            layer_of "$target"; to=$layer
            [ -n "$to" ] || continue
            rule=$(why_not "$from" "$to" "$file")
            [ -z "$rule" ] || echo "$file:$line: includes $target: $rule"
        done
    done
}

# ---- the checker itself, on a small tree with one offence of each kind ------------------------
fake=$TMP/tree
mkdir -p "$fake/kernels/fam" "$fake/kernels/gpu" "$fake/harness" "$fake/reports" "$fake/tui" "$fake/bench" "$fake/datasets"
for f in kernels/kernel.h kernels/fam/fam.h kernels/gpu/copies.h harness/h.h reports/r.h tui/t.h bench/b.h datasets/d.h; do
    : > "$fake/$f"
done
cat > "$fake/kernels/fam/a.c" <<'EOF'
#include "kernels/kernel.h"
#include "kernels/fam/fam.h"
#include "datasets/d.h"
#include "harness/h.h"
#include "../../reports/r.h"
EOF
printf '#include "harness/h.h"\n' > "$fake/kernels/gpu/copies.c"
printf '#include "kernels/fam/fam.h"\n' > "$fake/kernels/registry.c"
printf '#include "fam/fam.h"\n' > "$fake/kernels/verify.c"
printf '#include "kernels/kernel.h"\n#include "kernels/gpu/copies.h"\n#include "tui/t.h"\n' > "$fake/harness/run.c"
printf '#include "harness/h.h"\n#  include <tui/t.h>\n#include "bench/b.h"\n' > "$fake/reports/r.c"
printf '#include "reports/r.h"\n#include "bench/b.h"\n' > "$fake/tui/t.c"
printf '#include "tui/t.h"\n#include "kernels/fam/fam.h"\n' > "$fake/bench/b.c"
printf '#include "harness/h.h"\n' > "$fake/datasets/d.c"
offences "$fake" > "$TMP/fake"
for want in 'kernels/fam/a.c:4: includes harness/h.h' 'kernels/fam/a.c:5: includes reports/r.h' \
        'kernels/gpu/copies.c:1: includes harness/h.h' 'kernels/verify.c:1: includes kernels/fam/fam.h' \
        'harness/run.c:2: includes kernels/gpu/copies.h' 'harness/run.c:3: includes tui/t.h' \
        'reports/r.c:2: includes tui/t.h' 'reports/r.c:3: includes bench/b.h' 'tui/t.c:2: includes bench/b.h' \
        'bench/b.c:2: includes kernels/fam/fam.h' 'datasets/d.c:1: includes harness/h.h'; do
    expect_text "$TMP/fake" "$want" "the checker finds $want"
done
[ "$(wc -l < "$TMP/fake")" -eq 11 ] && ok "the checker finds nothing else in the small tree" ||
    { bad "the checker flags allowed includes too"; sed 's/^/# /' "$TMP/fake"; }

# ---- the tree -----------------------------------------------------------------------------------
[ -f "$root/kernels/kernel.h" ] && [ -d "$root/harness" ] && ok "the sources are at $root" ||
    bad "no sources at $root (top_srcdir)"
offences "$root" > "$TMP/real"
while IFS= read -r offence; do
    bad "$offence"
done < "$TMP/real"
[ -s "$TMP/real" ] || ok "every include of kernels/, harness/, reports/, tui/, bench/ and datasets/ points down"
finish
