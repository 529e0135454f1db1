#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::notification {

// A webhook secret as stored: AES-256-GCM under the key `key_id`; `sealed` is the 12-byte
// nonce, the ciphertext and the 16-byte tag.
struct SealedSecret {
  std::string key_id;
  std::string sealed;
};

// Encrypts webhook secrets at rest (AES-256-GCM, OpenSSL EVP). Keys come from
// configuration, never from the database, so a copy of the database alone does not reveal
// the secrets. Several keys may be loaded: the first seals, all of them open, so keys
// rotate by putting a new one first and resealing (PgSubscriptionStore::ResealSecrets).
// The subscription id is bound in as associated data: a sealed secret copied to another
// row does not open there. Thread-safe (const).
class SecretBox {
 public:
  // `spec`: "<key id>:<64 hex digits>[,<key id>:<64 hex digits>...]", the sealing key
  // first. INVALID_ARGUMENT naming what is wrong (never echoing key material).
  static absl::StatusOr<SecretBox> Parse(absl::string_view spec);

  const std::string& current_key_id() const { return current_; }
  bool Knows(const std::string& key_id) const { return keys_.contains(key_id); }

  absl::StatusOr<SealedSecret> Seal(absl::string_view plaintext,
                                    absl::string_view subscription_id) const;
  // FAILED_PRECONDITION for an unknown key id; DATA_LOSS when the ciphertext does not
  // authenticate (tampered, or another row's).
  absl::StatusOr<std::string> Open(const SealedSecret& secret,
                                   absl::string_view subscription_id) const;

 private:
  std::map<std::string, std::string> keys_;  // id -> 32 raw bytes
  std::string current_;
};

}  // namespace sundesk::notification
