#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

// A compact binary form of headers, for storing them beside a payload (the outbox's
// `headers` bytea): per header, a 4-byte big-endian key length, the key, a 4-byte value
// length, the value. Binary values survive; order and repeats are kept.
std::string EncodeHeaders(const Headers& headers);
// DATA_LOSS when `bytes` is not EncodeHeaders output.
absl::StatusOr<Headers> DecodeHeaders(absl::string_view bytes);

}  // namespace sundesk::kafka
