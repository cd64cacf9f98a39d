#!/bin/sh
# Builds the static swap helper the race tests run (see swap.c). Written to a temp name and
# renamed so a concurrent reader never sees a half-written binary.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
tmp="$dir/.swap.$$"
gcc -static -O2 -Wall -Wextra -o "$tmp" "$dir/swap.c"
strip "$tmp" 2>/dev/null || true
mv -f "$tmp" "$dir/swap"
