// libFuzzer target for the native core (native/*.cc, no Node)'s validation and record parsing (npm run fuzz).
//
// Each input builds a segment image from a valid template (a queue with a few records, one of them
// CLAIMED and one BUSY by a dead process, one running over the end of the ring), applies
// the input's patches to it (header, lock, indices, records: anything), writes it to a real POSIX
// shared-memory object, and then runs Open -> validate -> push / shift / shiftMany / peek /
// Verify (the recovery walk) / stats, with more patches written through the file in between, as a
// hostile process would while we have it mapped. ASan/UBSan flag any out-of-bounds access or UB;
// libFuzzer's -timeout flags a hang.
//
// Input format: a sequence of commands, each one byte followed by its operands:
//   0 off:u16 n:u8 bytes[n%16]  patch the image (before open) or the file (after open)
//   1 size:u16                  set the file size before open (truncate or extend)
//   2                           open (later commands act on the open ring)
//   3 len:u16                   push len bytes
//   4 cap:u16                   shift into a cap-byte buffer
//   5 max:u8                    shiftMany
//   6 max:u8                    peek
//   7                           Verify (lock, re-validate, recount)
//   8                           Stats + Count
//   9 ev:u8                     Wait(ev, 0 ms)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../names.h"
#include "../queue.h"

namespace {

std::vector<uint8_t> g_template;
std::string g_name;

struct Reader {
  const uint8_t* p;
  size_t n;
  bool Take(void* out, size_t k) {
    if (n < k) return false;
    memcpy(out, p, k);
    p += k;
    n -= k;
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Bound the "live holder makes no progress" wait: a patched lock word may name a live process
  // whose /proc/PID/maps we cannot read (pid 1 in a container); 15 s per input is too slow here.
  setenv("SHM_QUEUE_LOCK_STALL_MS", "20", 1);
  g_name = "fuzz-" + std::to_string(getpid());
  std::string tmpl = "fuzz-tmpl-" + std::to_string(getpid());
  shmq::Queue queue;
  shmq::CreateOptions opts;
  opts.capacity = 256;
  opts.codec = "raw";
  shmq::Queue::Unlink(tmpl);
  if (queue.Open(tmpl, shmq::OpenMode::kCreate, opts).status != shmq::kOk) abort();
  uint8_t msg[64];
  for (int i = 0; i < 5; i++) {
    memset(msg, 'a' + i, sizeof msg);
    queue.Push(msg, uint32_t(10 + i * 9), 0);
  }
  uint8_t out[64];
  queue.Shift(out, sizeof out, 0);  // move head off 0
  queue.Push(msg, 40, 0);           // its payload runs over the end of the ring
  queue.Close();
  int fd = shm_open(shmq::ShmName(tmpl).c_str(), O_RDONLY, 0);
  if (fd < 0) abort();
  g_template.resize(sizeof(shmq::Header) + 256);
  if (pread(fd, g_template.data(), g_template.size(), 0) != ssize_t(g_template.size())) abort();
  close(fd);
  // In-flight records of a process that is gone (layout 2, records.h): the oldest record CLAIMED
  // (its get died copying out: it must come back) and the newest BUSY (its put died copying in: it
  // must be discarded), so every input starts with both recoveries to make.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  auto* h = reinterpret_cast<shmq::Header*>(g_template.data());
  uint8_t* ring = g_template.data() + sizeof(shmq::Header);
  uint64_t head = h->head.load(), tail = h->tail.load(), last = head;
  for (uint64_t x = head; x != tail;) {
    uint32_t len;
    memcpy(&len, ring + x % 256, 4);
    last = x;
    x += 8 + shmq::Align8(len);
  }
  uint32_t len0;
  memcpy(&len0, ring + head % 256, 4);
  uint32_t claimed = shmq::kRecClaimed | (uint32_t(dead) & shmq::kRecPidMask);
  uint32_t busy = shmq::kRecBusy | (uint32_t(dead) & shmq::kRecPidMask);
  memcpy(ring + head % 256 + 4, &claimed, 4);
  memcpy(ring + last % 256 + 4, &busy, 4);
  h->read.store(head + 8 + shmq::Align8(len0));
  h->count.store(h->count.load() - 1);
  shmq::Queue::Unlink(tmpl);
  atexit([] { shmq::Queue::Unlink(g_name); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  std::vector<uint8_t> image = g_template;
  size_t file_size = image.size();
  shmq::Queue queue;
  bool opened = false;
  int fd = -1;
  std::vector<uint8_t> buf(70000);
  std::vector<uint32_t> lens(256);
  uint8_t cmd;
  while (in.Take(&cmd, 1)) {
    switch (cmd % 10) {
      case 0: {
        uint16_t off;
        uint8_t n;
        if (!in.Take(&off, 2) || !in.Take(&n, 1)) break;
        n %= 16;
        uint8_t bytes[16];
        if (!in.Take(bytes, n)) break;
        size_t at = off % image.size();
        size_t k = std::min<size_t>(n, image.size() - at);
        if (!opened) {
          memcpy(image.data() + at, bytes, k);
        } else if (fd >= 0 && at + k <= file_size) {
          if (pwrite(fd, bytes, k, off_t(at)) < 0) break;  // through the file, as another process would
        }
        break;
      }
      case 1: {
        uint16_t s;
        if (!in.Take(&s, 2) || opened) break;
        file_size = s % (image.size() + 512);  // shrinking after open is a documented SIGBUS limit
        break;
      }
      case 2: {
        if (opened) break;
        std::string path = shmq::ShmName(g_name);
        shm_unlink(path.c_str());
        fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0) abort();
        if (ftruncate(fd, off_t(file_size)) != 0) abort();
        if (pwrite(fd, image.data(), std::min(file_size, image.size()), 0) < 0) abort();
        shmq::OpenResult r = queue.Open(g_name, shmq::OpenMode::kOpen, shmq::CreateOptions{});
        opened = r.status == shmq::kOk;
        if (!opened) {
          close(fd);
          fd = -1;
          shm_unlink(path.c_str());
          return 0;
        }
        break;
      }
      case 3: {
        uint16_t len;
        if (!in.Take(&len, 2) || !opened) break;
        queue.Push(buf.data(), len, 0);
        break;
      }
      case 4: {
        uint16_t cap;
        if (!in.Take(&cap, 2) || !opened) break;
        queue.Shift(buf.data(), cap, 0);
        break;
      }
      case 5: {
        uint8_t max;
        if (!in.Take(&max, 1) || !opened) break;
        queue.ShiftMany(buf.data(), 4096, max, lens.data(), 0);
        break;
      }
      case 6: {
        uint8_t max;
        if (!in.Take(&max, 1) || !opened) break;
        queue.Peek(buf.data(), 4096, max, lens.data());
        break;
      }
      case 7:
        if (opened) queue.Verify();
        break;
      case 8:
        if (opened) {
          shmq::Snapshot s = queue.Stats();
          (void)s;
          (void)queue.Count();
        }
        break;
      case 9: {
        uint8_t ev;
        if (!in.Take(&ev, 1) || !opened) break;
        queue.Wait(static_cast<shmq::Event>(ev % 3), ev, 0, nullptr);
        break;
      }
    }
  }
  if (opened) {
    queue.Close();
    close(fd);
    shm_unlink(shmq::ShmName(g_name).c_str());
  }
  return 0;
}
