#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "openssl/types.h"

namespace sundesk::notification {

// The Sundesk-Signature header value of a webhook body sent at `unix_seconds`:
// "t=<unix_seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<unix_seconds>.<body>")>".
// Receivers recompute it and should refuse old `t` (replays).
std::string WebhookSignature(absl::string_view secret, int64_t unix_seconds,
                             absl::string_view body);

// The same value, for a thread that signs many webhooks (the sender's): the HMAC and its
// SHA-256 are fetched once (OpenSSL 3's one-shot HMAC() fetches both by name, under a
// lock, on every call), "<t>.<body>" is hashed in pieces instead of copied, and the value
// is written into the caller's buffer. Not thread-safe: one per thread.
class WebhookSigner {
 public:
  // "t=" + up to 20 digits + ",v1=" + 64 hex digits.
  static constexpr size_t kMaxSize = 2 + 20 + 4 + 64;

  WebhookSigner();
  ~WebhookSigner();
  WebhookSigner(const WebhookSigner&) = delete;
  WebhookSigner& operator=(const WebhookSigner&) = delete;

  // Writes the header value into `out` (at least kMaxSize bytes) and returns it (a view of
  // `out`); empty if OpenSSL failed.
  absl::string_view Sign(absl::string_view secret, int64_t unix_seconds, absl::string_view body,
                         char* out);

 private:
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
  bool digest_set_ = false;
};

}  // namespace sundesk::notification
