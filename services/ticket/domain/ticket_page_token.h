#pragma once
// Opaque page tokens for keyset pagination (ticket-specific: the shared page_token helper
// had not landed when this was written). A token carries the cursor (the sort key and id of
// the last row returned) and an HMAC-SHA256 over the cursor and a binding: the caller's
// scope and the canonical query. A token altered, or presented with another query or by
// another caller scope, fails the check: INVALID_ARGUMENT naming `page_token`.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::ticket {

class TicketPageTokens {
 public:
  // `key`: the HMAC secret, shared by every replica (tokens of one replica must work on
  // another). At least 16 bytes.
  explicit TicketPageTokens(std::string key) : key_(std::move(key)) {}

  std::string Encode(absl::string_view binding, const std::vector<std::string>& cursor) const;
  absl::StatusOr<std::vector<std::string>> Decode(absl::string_view token,
                                                  absl::string_view binding) const;

 private:
  std::string Mac(absl::string_view binding, absl::string_view payload) const;
  std::string key_;
};

}  // namespace sundesk::ticket
