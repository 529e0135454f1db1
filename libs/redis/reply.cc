#include "libs/redis/reply.h"

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sundesk::redis {
namespace {

constexpr char kErrorKindPayload[] = "type.sundesk.dev/redis.error";

absl::StatusCode CodeForErrorKind(absl::string_view kind) {
  if (kind == "NOSCRIPT") return absl::StatusCode::kNotFound;
  if (kind == "WRONGTYPE") return absl::StatusCode::kFailedPrecondition;
  if (kind == "OOM") return absl::StatusCode::kResourceExhausted;
  if (kind == "EXECABORT") return absl::StatusCode::kAborted;
  if (kind == "NOAUTH" || kind == "WRONGPASS" || kind == "NOPERM") {
    return absl::StatusCode::kPermissionDenied;
  }
  for (absl::string_view unavailable : {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN",
                                        "CLUSTERDOWN", "MISCONF", "MOVED", "ASK"}) {
    if (kind == unavailable) return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

std::string Reply::DebugString() const {
  switch (type) {
    case ReplyType::kNil:
      return "(nil)";
    case ReplyType::kInteger:
      return absl::StrCat("(integer) ", integer);
    case ReplyType::kString:
      return absl::StrCat("\"", absl::CHexEscape(str), "\"");
    case ReplyType::kStatus:
      return str;
    case ReplyType::kError:
      return absl::StrCat("(error) ", str);
    case ReplyType::kArray:
      return absl::StrCat(
          "[",
          absl::StrJoin(elements, ", ",
                        [](std::string* out, const Reply& r) { out->append(r.DebugString()); }),
          "]");
  }
  return "";
}

absl::Status ErrorReplyStatus(absl::string_view error) {
  absl::string_view kind = error.substr(0, error.find(' '));
  absl::Status status(CodeForErrorKind(kind), absl::StrCat("redis: ", error));
  status.SetPayload(kErrorKindPayload, absl::Cord(kind));
  return status;
}

std::string ErrorKind(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorKindPayload);
  return payload.has_value() ? std::string(*payload) : std::string();
}

}  // namespace sundesk::redis
