#!/usr/bin/env bash
# npm run fuzz [-- SECONDS]: builds native/fuzz/fuzz_queue.cc (the Node-free core, native/*.cc) with libFuzzer + ASan + UBSan and runs
# it for SECONDS (default 120, or FUZZ_SECONDS). Installs clang from Debian when it is missing.
# Corpus and crash artifacts go to .fuzz/ (git-ignored). Exit status != 0 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-${FUZZ_SECONDS:-120}}"
CXX="${FUZZ_CXX:-clang++}"
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found; installing clang from Debian" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y clang || { $SUDO apt-get update && $SUDO apt-get install -y clang; }
fi
mkdir -p .fuzz/corpus .fuzz/artifacts
"$CXX" -std=c++17 -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  native/*.cc native/fuzz/fuzz_queue.cc -o .fuzz/fuzz_queue -lrt -lpthread
# Seeds: open and do a bit of everything; patch the indices, the lock word, a record length and a
# record state (layout 2: the ring starts at 1600; states are DONE/BUSY/READY/CLAIMED, records.h).
printf '\x02\x03\x10\x00\x04\x00\x01\x05\x08\x06\x08\x07\x08' > .fuzz/corpus/seed-ops
printf '\x00\xc0\x00\x08\xf0\xff\xff\xff\xff\xff\xff\xff\x02\x04\x00\x01\x07' > .fuzz/corpus/seed-head
printf '\x00\x80\x00\x04\x00\x00\x00\x80\x02\x03\x08\x00\x07\x08' > .fuzz/corpus/seed-lock
printf '\x00\x58\x06\x04\xff\xff\x00\x00\x02\x04\x00\x10\x05\x10\x07' > .fuzz/corpus/seed-record
printf '\x00\x5c\x06\x04\x00\x00\x00\xc0\x02\x04\x00\x10\x03\x20\x00\x05\x10\x07\x08' > .fuzz/corpus/seed-state
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec .fuzz/fuzz_queue -max_total_time="$SECONDS_TO_RUN" -timeout=20 -rss_limit_mb=2048 -max_len=512 \
  -artifact_prefix=.fuzz/artifacts/ -print_final_stats=1 .fuzz/corpus
