// User names and ids (the passwd database through getpwnam_r/getpwuid_r), for the owner check:
// naming a segment's owner in an error, and resolving the `owner` a caller trusts.
#pragma once

#include <sys/types.h>

#include <string>

namespace shmq {

/** The user name of `uid`, or "" when the passwd database has none. */
std::string UserName(uid_t uid);
/** The uid of user `name`: true and *uid, or false when there is no such user. */
bool LookupUser(const std::string& name, uid_t* uid);

}  // namespace shmq
