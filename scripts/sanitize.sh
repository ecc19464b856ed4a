#!/usr/bin/env bash
# npm run test:sanitize [-- vitest args]: builds an ASan+UBSan addon into .sanitize/ and runs the
# native-heavy tests against it (SHM_QUEUE_ADDON points dist/native/loader.js at it; child processes
# inherit it). Node itself is not instrumented, so libasan is LD_PRELOADed and LeakSanitizer is
# off (detect_leaks=0): it would report V8's and Node's own allocations that live until exit.
# Any ASan or UBSan report aborts the process and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# With the test hooks (-DSHM_QUEUE_TEST_HOOKS): the crash tests that kill a lock holder run on this build too.
CXX_FLAGS="-DSHM_QUEUE_TEST_HOOKS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
addon="$(bash scripts/variant-build.sh .sanitize "$CXX_FLAGS" "-fsanitize=address,undefined")"
npm run build:ts >/dev/null
asan="$(${CC:-gcc} -print-file-name=libasan.so)"
ubsan="$(${CC:-gcc} -print-file-name=libubsan.so)"
export SHM_QUEUE_ADDON="$addon"
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export SHM_QUEUE_TEST_SLOW=1  # instrumented processes start slowly: the storm uses fewer kills
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
echo "test:sanitize: $addon with LD_PRELOAD=$LD_PRELOAD" >&2
# Instrumented code runs 2-10x slower: skip the one test that asserts a wall-clock budget for
# 200 non-waiting calls (it measures speed, not memory safety).
if [ "$#" -eq 0 ]; then
  # Every test file that loads the addon (the tarball, type, loader and bench files build or load
  # their own binaries, and codecs.test.ts is pure JavaScript), except hostile-processes.test.ts:
  # 70 instrumented node processes at once need more memory than a CI runner has.
  set -- test/api.test.ts test/core-v2.test.ts test/multiprocess.test.ts test/async.test.ts test/property.test.ts test/crash.test.ts \
    test/corruption.test.ts test/native-addon.test.ts test/permissions.test.ts test/inspect.test.ts test/cli.test.ts \
    test/hostile-owner.test.ts test/hostile-fifo.test.ts test/hostile-stopped.test.ts test/hostile-resources.test.ts \
    -t '^(?!timeouts timeout: 0 never waits)'
fi
exec npx --no-install vitest run "$@"
