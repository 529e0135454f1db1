#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sundesk::redis {

enum class ReplyType { kNil, kInteger, kString, kStatus, kError, kArray };

// One Redis reply, owned (copied out of hiredis). Strings are binary-safe.
//
//   GET missing        -> {.type = kNil}
//   INCR n             -> {.type = kInteger, .integer = 1}
//   GET k              -> {.type = kString, .str = "v"}
//   SET k v            -> {.type = kStatus, .str = "OK"}
//   LPUSH on a string  -> {.type = kError, .str = "WRONGTYPE Operation against ..."}
//   MGET a b           -> {.type = kArray, .elements = {...}}
struct Reply {
  ReplyType type = ReplyType::kNil;
  int64_t integer = 0;
  std::string str = "";              // kString, kStatus, kError
  std::vector<Reply> elements = {};  // kArray

  bool is_nil() const { return type == ReplyType::kNil; }
  bool is_error() const { return type == ReplyType::kError; }
  // redis-cli style, for logs and test failures: "hello", (integer) 3, (nil), [...].
  std::string DebugString() const;

  bool operator==(const Reply& other) const = default;
};

// The status for an error reply: its message is "redis: " + the reply, its payload the
// first word ("WRONGTYPE", "NOSCRIPT", or a script's own prefix) for ErrorKind().
//
//   NOSCRIPT                                         -> NOT_FOUND
//   WRONGTYPE                                        -> FAILED_PRECONDITION
//   LOADING, BUSY, READONLY, MASTERDOWN, TRYAGAIN,
//   CLUSTERDOWN, MISCONF, MOVED, ASK                 -> UNAVAILABLE
//   OOM                                              -> RESOURCE_EXHAUSTED
//   NOAUTH, WRONGPASS, NOPERM                        -> PERMISSION_DENIED
//   EXECABORT                                        -> ABORTED
//   anything else (ERR ...)                          -> INTERNAL
absl::Status ErrorReplyStatus(absl::string_view error);

// The error reply's first word carried by a status from this library, or "".
std::string ErrorKind(const absl::Status& status);

}  // namespace sundesk::redis
