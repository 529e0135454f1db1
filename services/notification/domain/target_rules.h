#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Checks of where a subscription may deliver: webhook URLs (and the SSRF guard) and email
// addresses. Every failure is INVALID_ARGUMENT naming the field.
namespace sundesk::notification {

// Resolves a host name to its IP addresses (text form). Injected so the domain does no I/O
// of its own; the real one wraps getaddrinfo (delivery/host_resolver.h).
class HostResolver {
 public:
  virtual ~HostResolver() = default;
  // NOT_FOUND when the name does not resolve.
  virtual absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) const = 0;
};

// Whether a webhook may not target `ip` (IPv4 or IPv6 text) unless private targets are
// allowed: loopback, private (RFC 1918, IPv6 ULA), link-local, carrier-grade NAT,
// unspecified, multicast, broadcast/reserved; IPv4-mapped IPv6 is judged by its IPv4.
// An unparsable address is refused.
bool IsRefusedAddress(absl::string_view ip);

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;
};

// An absolute http(s) URL of at most 2048 chars with a host and no credentials.
absl::StatusOr<ParsedUrl> ParseWebhookUrl(absl::string_view field, absl::string_view url);

// ParseWebhookUrl, then, unless `allow_private_targets`, resolves the host and refuses it
// when any of its addresses IsRefusedAddress.
absl::Status CheckWebhookUrl(absl::string_view field, absl::string_view url,
                             const HostResolver& resolver, bool allow_private_targets);

// local@domain, at most 254 chars (local part ≤ 64), printable ASCII without spaces or
// angle brackets in the local part, a dotted domain of letters, digits and hyphens.
absl::Status CheckEmailAddress(absl::string_view field, absl::string_view address);

}  // namespace sundesk::notification
