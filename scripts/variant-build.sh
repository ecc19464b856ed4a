#!/usr/bin/env bash
# scripts/variant-build.sh DIR CXXFLAGS LDFLAGS: builds the addon from the same sources and
# binding.gyp into DIR/build/Release/shm_queue.node, leaving build/ (the normal addon) alone.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"
mkdir -p "$dir"
cp binding.gyp "$dir/binding.gyp"
ln -sfn ../native "$dir/native"
CXXFLAGS="$2" LDFLAGS="$3" npx --no-install node-gyp rebuild --directory "$dir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
if grep -E "warning:" "$dir/build.log"; then echo "variant build of $dir has warnings" >&2; exit 1; fi
echo "$PWD/$dir/build/Release/shm_queue.node"
