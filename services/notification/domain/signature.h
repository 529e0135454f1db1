#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sundesk::notification {

// The Sundesk-Signature header value of a webhook body sent at `unix_seconds`:
// "t=<unix_seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<unix_seconds>.<body>")>".
// Receivers recompute it and should refuse old `t` (replays).
std::string WebhookSignature(absl::string_view secret, int64_t unix_seconds,
                             absl::string_view body);

}  // namespace sundesk::notification
