// THE name rules: which queue names and codec names are valid, and where a queue's segment lives.
#pragma once

#include <cstddef>
#include <string>

namespace shmq {

constexpr size_t kMaxNameLength = 200;

/** Is `name` a valid queue name: ^[A-Za-z0-9_.-]{1,200}$ and not "." or ".."? */
bool ValidName(const std::string& name);
/** Is the NUL-terminated string in codec[0..size) a valid codec name: 1 to size-1 of [A-Za-z0-9_.:-]?
 *  (A name without a NUL inside `size` bytes is invalid: that is how the segment stores it.) */
bool ValidCodecName(const char* codec, size_t size);
/** The same for a string (a codec name longer than 31 characters is invalid). */
bool ValidCodecName(const std::string& codec);

/** The shm_open name of queue `name`: "/shm-queue.<name>". */
inline std::string ShmName(const std::string& name) {
  return "/shm-queue." + name;
}
/** Its file on Linux: "/dev/shm/shm-queue.<name>". */
inline std::string ShmPath(const std::string& name) {
  return "/dev/shm" + ShmName(name);
}

}  // namespace shmq
