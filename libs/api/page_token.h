#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::api {

// Opaque, tamper-proof page tokens for keyset pagination. A token carries the position of
// the last row returned (whatever bytes the list chooses, e.g. "<create_time>|<id>") and
// an HMAC-SHA256 over that position, the caller's scope (e.g. its tenant) and the query
// (its filters and order), all base64url. A token that was altered, made with another
// key, or reused by another scope or with another query does not verify.
class PageTokenSigner {
 public:
  // `key` is the HMAC key (a configuration secret shared by every replica, so a token
  // made by one is accepted by the others). Must not be empty.
  explicit PageTokenSigner(std::string key);

  std::string Sign(absl::string_view scope, absl::string_view query,
                   absl::string_view position) const;

  // The position a token carries, or INVALID_ARGUMENT "<field>: ..." when it is malformed
  // or does not belong to this scope and query.
  absl::StatusOr<std::string> Verify(absl::string_view field, absl::string_view scope,
                                     absl::string_view query, absl::string_view token) const;

 private:
  std::string Mac(absl::string_view scope, absl::string_view query,
                  absl::string_view position) const;

  std::string key_;
};

}  // namespace sundesk::api
