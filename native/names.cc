#include "names.h"

#include <cstring>

#include "layout.h"

namespace shmq {

namespace {
bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}
}  // namespace

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == "..") return false;
  for (char c : name) {
    if (!NameChar(c)) return false;
  }
  return true;
}

bool ValidCodecName(const char* codec, size_t size) {
  size_t n = strnlen(codec, size);
  if (n == 0 || n >= size) return false;
  for (size_t i = 0; i < n; i++) {
    if (!NameChar(codec[i]) && codec[i] != ':') return false;
  }
  return true;
}

bool ValidCodecName(const std::string& codec) {
  return codec.size() <= kMaxCodecNameLength && codec.find('\0') == std::string::npos &&
         ValidCodecName(codec.c_str(), codec.size() + 1);
}

}  // namespace shmq
