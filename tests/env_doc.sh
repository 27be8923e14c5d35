#!/bin/sh
# env_doc.sh - every environment variable kbench reads (getenv("KBENCH_...") in the sources of
# each layer) is named in README.md, where users look for it: one check per variable, so a new
# switch without a line in the README fails here with its name and the file that reads it.
. "${top_srcdir:-.}/tests/lib.sh"
root=${top_srcdir:-.}

grep -oE 'getenv\("KBENCH_[A-Z0-9_]+"\)' -r "$root/bench" "$root/harness" "$root/kernels" "$root/reports" \
    "$root/tui" "$root/datasets" --include='*.c' --include='*.cu' --include='*.h' --include='*.cuh' 2>/dev/null |
    sed 's/:getenv("/ /; s/")$//' | sort -k2 -u >"$TMP/vars"
count=$(wc -l <"$TMP/vars")
if [ "$count" -ge 10 ]; then ok "found the $count KBENCH_ variables the sources read"; else
    bad "found only $count KBENCH_ variables: the search above no longer sees the sources"; fi
while read -r file var; do
    if grep -qF "\`$var\`" "$root/README.md"; then ok "$var is in README.md"; else
        bad "$var (read by ${file#"$root"/}) is not named in README.md"; fi
done <"$TMP/vars"
finish
