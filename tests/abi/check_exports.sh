#!/bin/sh
# check_exports.sh LIBRARY HEADER_DIR - libcupi.so's dynamic symbol table is
# its public API: every defined symbol it exports must be a function a
# public header declares with CUPI_API, and every such function must be
# exported. Prints the difference and exits 1 when they differ.
set -eu
lib=$1
headers=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$tmp/exported"
# A declaration reads "CUPI_API <type> [*]name(" (export.h defines the
# macro and declares nothing).
for h in "$headers"/*.h; do
    [ "$(basename "$h")" = export.h ] || cat "$h"
done | tr '\n' ' ' | grep -o 'CUPI_API [A-Za-z_][A-Za-z0-9_ *]*(' |
    sed 's/($//; s/.*[ *]//' | sort -u >"$tmp/declared"

if [ ! -s "$tmp/declared" ]; then
    echo "no CUPI_API declaration found in $headers" >&2
    exit 1
fi
status=0
# A public function without the mark would silently not be exported.
unmarked=$(grep -hE '^[A-Za-z].*\bcupi_[a-z0-9_]+\(' "$headers"/*.h | grep -vE '^(CUPI_API|typedef|#)' || true)
if [ -n "$unmarked" ]; then
    echo "declared in $headers without CUPI_API:" >&2
    echo "$unmarked" | sed 's/^/  /' >&2
    status=1
fi
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$extra" ]; then
    echo "exported by $lib but not declared CUPI_API in $headers:" >&2
    echo "$extra" | sed 's/^/  /' >&2
    status=1
fi
if [ -n "$missing" ]; then
    echo "declared CUPI_API in $headers but not exported by $lib:" >&2
    echo "$missing" | sed 's/^/  /' >&2
    status=1
fi
[ $status -eq 0 ] && echo "$(wc -l <"$tmp/exported") symbols exported, all declared CUPI_API"
exit $status
