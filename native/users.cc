#include "users.h"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace shmq {

namespace {
size_t PasswdBufferSize() {
  long n = sysconf(_SC_GETPW_R_SIZE_MAX);
  return n > 0 ? size_t(n) : 16384;
}
}  // namespace

std::string UserName(uid_t uid) {
  std::vector<char> buf(PasswdBufferSize());
  struct passwd pw;
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return "";
  return found->pw_name;
}

bool LookupUser(const std::string& name, uid_t* uid) {
  std::vector<char> buf(PasswdBufferSize());
  struct passwd pw;
  struct passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) return false;
  *uid = found->pw_uid;
  return true;
}

}  // namespace shmq
