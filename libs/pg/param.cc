#include "libs/pg/param.h"

namespace sundesk::pg {

Param::Param(absl::Time time) {
  if (time == absl::InfiniteFuture()) {
    value_ = "infinity";
  } else if (time == absl::InfinitePast()) {
    value_ = "-infinity";
  } else {
    value_ = absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", time, absl::UTCTimeZone());
  }
}

const std::string& Param::value() const {
  static const std::string* const kEmpty = new std::string();
  return value_.has_value() ? *value_ : *kEmpty;
}

}  // namespace sundesk::pg
