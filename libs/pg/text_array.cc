#include "libs/pg/text_array.h"

#include "absl/strings/str_cat.h"

namespace sundesk::pg {

std::string TextArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseTextArray(absl::string_view s) {
  auto malformed = [&] {
    return absl::DataLossError(absl::StrCat("not a text[]: ", s.substr(0, 64)));
  };
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return malformed();
  std::vector<std::string> items;
  size_t i = 1;
  const size_t end = s.size() - 1;
  if (i == end) return items;
  while (i <= end) {
    std::string item;
    if (s[i] == '"') {
      ++i;
      while (i < end && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < end) ++i;
        item += s[i++];
      }
      if (i >= end) return malformed();
      ++i;  // closing quote
    } else {
      while (i < end && s[i] != ',') item += s[i++];
    }
    items.push_back(std::move(item));
    if (i == end) break;
    if (s[i] != ',') return malformed();
    ++i;
  }
  return items;
}

}  // namespace sundesk::pg
