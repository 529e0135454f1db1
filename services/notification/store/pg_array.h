#pragma once

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/pg/param.h"

namespace sundesk::notification {

// The text form of a PostgreSQL array, built element by element, for a `$n::type[]`
// parameter (e.g. a column of rows for `unnest`). Every element is quoted and escaped, so
// any text goes in; bytea elements are hex ("\x…"), timestamps UTC with microseconds.
class PgArray {
 public:
  PgArray& Add(absl::string_view text);
  PgArray& Add(const std::string& text) { return Add(absl::string_view(text)); }
  PgArray& Add(const char* text) { return Add(absl::string_view(text)); }
  PgArray& Add(int64_t number);
  PgArray& Add(int number) { return Add(static_cast<int64_t>(number)); }
  PgArray& Add(bool b) { return Add(b ? absl::string_view("t") : absl::string_view("f")); }
  PgArray& Add(absl::Time time);
  PgArray& Add(const std::optional<absl::Time>& time) { return time ? Add(*time) : AddNull(); }
  PgArray& AddBytea(absl::string_view bytes);
  PgArray& AddNull();

  int size() const { return size_; }
  pg::Param Param() const { return pg::Param(absl::StrCat(text_, "}")); }

 private:
  void Separate();

  std::string text_ = "{";
  int size_ = 0;
};

}  // namespace sundesk::notification
