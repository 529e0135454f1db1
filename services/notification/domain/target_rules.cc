#include "services/notification/domain/target_rules.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sundesk::notification {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool RefusedV4(const unsigned char a[4]) {
  if (a[0] == 0 || a[0] == 10 || a[0] == 127) return true;  // this net, private, loop
  if (a[0] == 100 && (a[1] & 0xC0) == 64) return true;      // 100.64/10 CGNAT
  if (a[0] == 169 && a[1] == 254) return true;              // link-local
  if (a[0] == 172 && (a[1] & 0xF0) == 16) return true;      // 172.16/12
  if (a[0] == 192 && a[1] == 168) return true;              // 192.168/16
  if (a[0] == 192 && a[1] == 0 && a[2] == 0) return true;   // IETF protocol assignments
  if (a[0] == 198 && (a[1] & 0xFE) == 18) return true;      // 198.18/15 benchmarking
  if (a[0] >= 224) return true;                             // multicast, reserved
  return false;
}

struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};

std::string Part(CURLU* u, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(u, part, &raw, 0) != CURLUE_OK || raw == nullptr) return "";
  std::unique_ptr<char, CurlFree> owned(raw);
  return std::string(raw);
}

}  // namespace

bool IsRefusedAddress(absl::string_view ip) {
  std::string text(ip);
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) return RefusedV4(v4);
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) != 1) return true;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(v6, kMapped, 12) == 0) return RefusedV4(v6 + 12);
  static constexpr unsigned char kZero[16] = {};
  if (std::memcmp(v6, kZero, 15) == 0 && (v6[15] == 0 || v6[15] == 1)) return true;  // ::, ::1
  if ((v6[0] & 0xFE) == 0xFC) return true;                   // fc00::/7 unique local
  if (v6[0] == 0xFE && (v6[1] & 0xC0) == 0x80) return true;  // fe80::/10 link-local
  if (v6[0] == 0xFE && (v6[1] & 0xC0) == 0xC0) return true;  // fec0::/10 site-local
  if (v6[0] == 0xFF) return true;                            // multicast
  static constexpr unsigned char kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(v6, kNat64, 12) == 0) return RefusedV4(v6 + 12);
  return false;
}

absl::StatusOr<ParsedUrl> ParseWebhookUrl(absl::string_view field, absl::string_view url) {
  if (url.empty()) return Invalid(field, "required");
  if (url.size() > 2048) return Invalid(field, "longer than 2048 chars");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return Invalid(field, "must not contain spaces or control characters");
    }
  }
  std::unique_ptr<CURLU, CurlUrlFree> u(curl_url());
  std::string text(url);
  // No default scheme: a URL without one is not absolute.
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return Invalid(field, "not an absolute http(s) URL");
  }
  ParsedUrl parsed;
  parsed.scheme = absl::AsciiStrToLower(Part(u.get(), CURLUPART_SCHEME));
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return Invalid(field, "scheme must be http or https");
  }
  if (!Part(u.get(), CURLUPART_USER).empty() || !Part(u.get(), CURLUPART_PASSWORD).empty()) {
    return Invalid(field, "must not carry credentials (use the secret to authenticate)");
  }
  parsed.host = Part(u.get(), CURLUPART_HOST);
  if (absl::StartsWith(parsed.host, "[") && absl::EndsWith(parsed.host, "]")) {
    parsed.host = parsed.host.substr(1, parsed.host.size() - 2);
  }
  if (parsed.host.empty()) return Invalid(field, "has no host");
  std::string port = Part(u.get(), CURLUPART_PORT);
  if (port.empty()) {
    parsed.port = parsed.scheme == "https" ? 443 : 80;
  } else if (!absl::SimpleAtoi(port, &parsed.port) || parsed.port <= 0 || parsed.port > 65535) {
    return Invalid(field, "port out of range");
  }
  return parsed;
}

absl::Status CheckWebhookUrl(absl::string_view field, absl::string_view url,
                             const HostResolver& resolver, bool allow_private_targets) {
  absl::StatusOr<ParsedUrl> parsed = ParseWebhookUrl(field, url);
  if (!parsed.ok()) return parsed.status();
  if (allow_private_targets) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> addresses = resolver.Resolve(parsed->host);
  if (!addresses.ok()) {
    if (absl::IsNotFound(addresses.status())) {
      return Invalid(field, absl::StrCat("host \"", parsed->host, "\" does not resolve"));
    }
    return addresses.status();  // e.g. UNAVAILABLE: the resolver could not answer
  }
  if (addresses->empty()) {
    return Invalid(field, absl::StrCat("host \"", parsed->host, "\" does not resolve"));
  }
  for (const std::string& ip : *addresses) {
    if (IsRefusedAddress(ip)) {
      return Invalid(field, absl::StrCat("host \"", parsed->host, "\" resolves to ", ip,
                                         ", a loopback, private or link-local address"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEmailAddress(absl::string_view field, absl::string_view address) {
  if (address.empty()) return Invalid(field, "required");
  if (address.size() > 254) return Invalid(field, "longer than 254 chars");
  size_t at = address.rfind('@');
  if (at == absl::string_view::npos) return Invalid(field, "not an email address (no '@')");
  absl::string_view local = address.substr(0, at);
  absl::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64) {
    return Invalid(field, "the part before '@' must be 1-64 chars");
  }
  for (char c : local) {
    // Printable ASCII without space, quotes, angle brackets, '@', comma or semicolon: what
    // a plain SMTP mailbox needs, and nothing that could break out of a header.
    if (c <= 0x20 || c >= 0x7F ||
        absl::string_view("\"<>@,;:\\()[]").find(c) != absl::string_view::npos) {
      return Invalid(field, "the part before '@' has a character not allowed in an address");
    }
  }
  if (local.front() == '.' || local.back() == '.' || absl::StrContains(local, "..")) {
    return Invalid(field, "the part before '@' has a misplaced '.'");
  }
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return Invalid(field, "the domain must have a dot");
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return Invalid(field, "the domain is not a valid host name");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') {
        return Invalid(field, "the domain is not a valid host name");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace sundesk::notification
