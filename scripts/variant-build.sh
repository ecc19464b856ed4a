#!/usr/bin/env bash
# scripts/variant-build.sh DIR CXXFLAGS LDFLAGS: builds the addon from the same sources and
# binding.gyp into DIR/build/Release/shm_queue.node, leaving build/ (the normal addon) alone, and
# prints the path of the binary. Variants: .sanitize (ASan+UBSan), .valgrind (-g -O1), .test-hooks
# (-DSHM_QUEUE_TEST_HOOKS, built by the vitest global setup for the tests that kill a lock holder).
# A build is reused while the hash of native/, binding.gyp and the flags is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"
mkdir -p "$dir"
binary="$PWD/$dir/build/Release/shm_queue.node"
hash="$({ printf '%s\n%s\n' "$2" "$3"; cat binding.gyp; find native -type f \( -name '*.cc' -o -name '*.h' \) | LC_ALL=C sort | xargs cat; } | sha256sum | cut -d' ' -f1)"
if [ -f "$binary" ] && [ "$(cat "$dir/sources.sha256" 2>/dev/null)" = "$hash" ]; then
  echo "$binary"
  exit 0
fi
rm -f "$dir/sources.sha256"
cp binding.gyp "$dir/binding.gyp"
ln -sfn ../native "$dir/native"
CXXFLAGS="$2" LDFLAGS="$3" npx --no-install node-gyp rebuild --directory "$dir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
if grep -E "warning:" "$dir/build.log" >&2; then echo "variant build of $dir has warnings" >&2; exit 1; fi
echo "$hash" >"$dir/sources.sha256"
echo "$binary"
