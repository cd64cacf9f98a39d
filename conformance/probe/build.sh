#!/bin/sh
# Builds the static probe that conformance tests run inside containers.
# Written to a temp name and renamed so a concurrent reader never sees a half-written binary.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
tmp="$dir/.probe.$$"
gcc -static -Os -Wall -Wextra -o "$tmp" "$dir/probe.c"
strip "$tmp" 2>/dev/null || true
mv -f "$tmp" "$dir/probe"
