#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sundesk::kafka {

// One Kafka record header. Kafka allows a key to repeat; order is kept.
struct Header {
  std::string key;
  std::string value;

  friend bool operator==(const Header&, const Header&) = default;
};

using Headers = std::vector<Header>;

// The value of the first header named `key` (names compare exactly, as Kafka does).
std::optional<absl::string_view> FindHeader(const Headers& headers, absl::string_view key);

}  // namespace sundesk::kafka
