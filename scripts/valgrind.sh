#!/usr/bin/env bash
# npm run test:valgrind: runs scripts/valgrind-smoke.mjs under valgrind memcheck against a -g -O1
# build of the addon (.valgrind/). Node and V8 are not ours: their reports (JIT code, intentional
# leaks at exit) are ignored. The run fails if any error or definite leak has a frame in our addon
# (shm_queue.node, built from native/).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "test:valgrind: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 2; }
addon="$(bash scripts/variant-build.sh .valgrind "-g -O1 -fno-omit-frame-pointer" "")"
npm run build:ts >/dev/null
log=.valgrind/memcheck.log
SHM_QUEUE_ADDON="$addon" valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --num-callers=40 --suppressions=scripts/valgrind.supp --log-file="$log" node scripts/valgrind-smoke.mjs
node scripts/valgrind-report.mjs "$log"
