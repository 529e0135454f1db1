#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace sundesk::pg {

// One `$n` query parameter: SQL NULL, text the server parses into the column's type, raw
// bytea bytes sent in binary (no escaping, zero bytes welcome), or a one-dimensional array
// sent in PostgreSQL's binary array format.
//
//   conn.Execute("INSERT INTO outbox (id, payload, sent_at) VALUES ($1, $2, $3)",
//                {id, pg::Param::Bytea(event.SerializeAsString()), std::nullopt});
//
// Array parameters are for set-based statements (`unnest`, `= ANY`). Sent in binary, the
// server copies each element instead of parsing array text (`array_in`, and for bytea
// `hex_decode`), and nothing needs quoting or escaping. The parameter has the array's own
// type, so `$1::bigint[]` is unneeded; a cast to another array type (`$1::uuid[]` of a
// TextArray) converts element by element.
//
//   std::vector<int64_t> ids = ...;
//   std::vector<std::optional<absl::Time>> due = ...;  // std::nullopt: SQL NULL
//   conn.Execute("UPDATE clocks c SET due = u.due FROM unnest($1, $2) AS u(id, due) "
//                "WHERE c.id = u.id", {pg::Param::Int64Array(ids), pg::Param::TimeArray(due)});
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
  static Param Bytea(absl::string_view bytes);

  // bigint[], integer[], double precision[], boolean[]
  static Param Int64Array(absl::Span<const int64_t> values);
  static Param Int64Array(absl::Span<const std::optional<int64_t>> values);
  static Param Int32Array(absl::Span<const int32_t> values);
  static Param Int32Array(absl::Span<const std::optional<int32_t>> values);
  static Param Float64Array(absl::Span<const double> values);
  static Param BoolArray(const std::vector<bool>& values);
  // text[]: each element valid UTF-8 without NUL, or the server refuses the statement
  // (INVALID_ARGUMENT), as it does a text parameter.
  static Param TextArray(absl::Span<const std::string> values);
  static Param TextArray(absl::Span<const absl::string_view> values);
  static Param TextArray(absl::Span<const std::optional<std::string>> values);
  // bytea[]: any bytes.
  static Param ByteaArray(absl::Span<const std::string> values);
  static Param ByteaArray(absl::Span<const absl::string_view> values);
  // timestamptz[], to the microsecond (finer is truncated toward the past);
  // absl::InfiniteFuture() / InfinitePast() are 'infinity' / '-infinity'.
  static Param TimeArray(absl::Span<const absl::Time> values);
  static Param TimeArray(absl::Span<const std::optional<absl::Time>> values);

  bool is_null() const { return !value_.has_value(); }
  // Sent in binary format (bytea and arrays); otherwise text.
  bool is_binary() const { return type_ != 0; }
  bool is_bytea() const;
  // The PostgreSQL type OID sent with a binary parameter; 0 (text): the server infers it.
  uint32_t type() const { return type_; }
  // The text or the binary bytes; empty for NULL.
  const std::string& value() const;

 private:
  Param(uint32_t type, std::string bytes) : value_(std::move(bytes)), type_(type) {}

  std::optional<std::string> value_;
  uint32_t type_ = 0;
};

}  // namespace sundesk::pg
