#include "services/notification/store/pg_array.h"

#include "absl/strings/str_cat.h"

namespace sundesk::notification {

void PgArray::Separate() {
  if (size_++ > 0) text_ += ',';
}

PgArray& PgArray::Add(absl::string_view text) {
  Separate();
  text_ += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
  return *this;
}

PgArray& PgArray::Add(int64_t number) {
  Separate();
  absl::StrAppend(&text_, number);
  return *this;
}

PgArray& PgArray::Add(absl::Time time) { return Add(pg::Param(time).value()); }

PgArray& PgArray::AddBytea(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  Separate();
  text_ += "\"\\\\x";  // the element is \x…; the backslash is escaped inside the quotes
  text_.reserve(text_.size() + 2 * bytes.size() + 1);
  for (unsigned char c : bytes) {
    text_ += kHex[c >> 4];
    text_ += kHex[c & 15];
  }
  text_ += '"';
  return *this;
}

PgArray& PgArray::AddNull() {
  Separate();
  text_ += "NULL";
  return *this;
}

}  // namespace sundesk::notification
