#!/usr/bin/env bash
# npm run test:lock-word: the lock word of native/lock_word.h (layout 2) on its own, with no Node:
# native/test/lock_word_test.c built against glibc (plain, ThreadSanitizer, ASan+UBSan) and, when
# musl-gcc is installed (Debian: apt-get install musl-tools), against musl; then a glibc and a musl
# build share one word at the same time (mutual exclusion across libcs) and die on it under SIGKILL
# (recovery across libcs). Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
word="/dev/shm/shm-queue-lock-word-test.$$"
trap 'rm -rf "$out" "$word"' EXIT
src=native/test/lock_word_test.c
flags=(-std=c11 -Wall -Wextra -Werror -pthread)
${CC:-gcc} "${flags[@]}" -O2 "$src" -o "$out/glibc"
${CC:-gcc} "${flags[@]}" -O1 -g -fsanitize=thread "$src" -o "$out/tsan"
${CC:-gcc} "${flags[@]}" -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined "$src" -o "$out/asan"
echo "glibc: threads, processes, SIGKILLed holders"
"$out/glibc" threads 4 200000
"$out/glibc" procs "$word" 3 2 100000
"$out/glibc" kill "$word" 4 3
echo "ThreadSanitizer: threads"
"$out/tsan" threads 4 50000
echo "AddressSanitizer + UBSan: threads, processes, SIGKILLed holders"
"$out/asan" threads 4 50000
"$out/asan" procs "$word" 3 2 50000
"$out/asan" kill "$word" 3 2
if ! command -v musl-gcc >/dev/null; then
  echo "musl-gcc not installed: the musl and mixed glibc/musl runs were SKIPPED (apt-get install musl-tools)" >&2
  exit 0
fi
musl-gcc "${flags[@]}" -O2 "$src" -o "$out/musl"
echo "musl: threads, processes, SIGKILLed holders"
"$out/musl" threads 4 200000
"$out/musl" procs "$word" 3 2 100000
"$out/musl" kill "$word" 4 3
echo "glibc and musl on one word: 4 processes x 2 threads x 150000 rounds"
"$out/glibc" init "$word" x
pids=()
for bin in glibc musl glibc musl; do
  "$out/$bin" join "$word" 2 150000 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
"$out/glibc" check "$word" 1200000
echo "glibc and musl holders SIGKILLed on one word (either side recovers the other's death)"
"$out/glibc" kill "$word" 4 3 "$out/musl"
"$out/musl" kill "$word" 4 3 "$out/glibc"
