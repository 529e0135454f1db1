#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sundesk::pg {

// One `$n` query parameter: SQL NULL, text the server parses into the column's type, or
// raw bytea bytes sent in binary (no escaping, zero bytes welcome).
//
//   conn.Execute("INSERT INTO outbox (id, payload, sent_at) VALUES ($1, $2, $3)",
//                {id, pg::Param::Bytea(event.SerializeAsString()), std::nullopt});
class Param {
 public:
  // Implicit, so that a parameter list reads like the row: {id, subject, std::nullopt}.
  Param(std::nullopt_t) {}                                      // NOLINT
  Param(const char* text) : value_(text) {}                     // NOLINT
  Param(std::string text) : value_(std::move(text)) {}          // NOLINT
  Param(absl::string_view text) : value_(std::string(text)) {}  // NOLINT
  Param(bool b) : value_(b ? "true" : "false") {}               // NOLINT
  template <typename T,
            std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Param(T number) : value_(absl::StrCat(number)) {}  // NOLINT
  // A timestamptz, sent in UTC with microseconds.
  Param(absl::Time time);  // NOLINT
  template <typename T>
  Param(const std::optional<T>& value)  // NOLINT
      : Param(value.has_value() ? Param(*value) : Param(std::nullopt)) {}

  static Param Null() { return Param(std::nullopt); }
  static Param Bytea(absl::string_view bytes) {
    Param p(bytes);
    p.bytea_ = true;
    return p;
  }

  bool is_null() const { return !value_.has_value(); }
  bool is_bytea() const { return bytea_; }
  // The text (or bytes, for bytea); empty for NULL.
  const std::string& value() const;

 private:
  std::optional<std::string> value_;
  bool bytea_ = false;
};

}  // namespace sundesk::pg
