#include "libs/api/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace sundesk::api {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, an overlong C0/C1 lead, or F5..FF
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if (!IsContinuation(p[i])) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;                                // surrogate
    if (cp > 0x10FFFF) return false;
    p += extra + 1;
  }
  return true;
}

size_t Utf8Length(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += IsContinuation(static_cast<unsigned char>(c)) ? 0 : 1;
  return n;
}

bool IsLanguageTag(absl::string_view s) {
  if (s.empty()) return false;
  bool first = true;
  for (absl::string_view part : absl::StrSplit(s, '-')) {
    if (first) {
      if (part.size() < 2 || part.size() > 3) return false;
      for (char c : part) {
        if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
      }
      first = false;
      continue;
    }
    if (part.size() < 2 || part.size() > 8) return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
    }
  }
  return true;
}

absl::Status CheckText(absl::string_view field, absl::string_view value, size_t min_chars,
                       size_t max_chars) {
  if (!IsValidUtf8(value)) return Invalid(field, "must be valid UTF-8");
  if (absl::StrContains(value, absl::string_view("\0", 1))) {
    return Invalid(field, "must not contain NUL characters");
  }
  size_t n = Utf8Length(value);
  if (n < min_chars) {
    return Invalid(field, min_chars == 1
                              ? std::string("must not be empty")
                              : absl::StrCat("must have at least ", min_chars, " characters"));
  }
  if (n > max_chars) {
    return Invalid(field, absl::StrCat("must have at most ", max_chars, " characters, has ", n));
  }
  return absl::OkStatus();
}

absl::Status CheckTextBytes(absl::string_view field, absl::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", max_bytes, " bytes, is ", value.size()));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "must be valid UTF-8");
  if (absl::StrContains(value, absl::string_view("\0", 1))) {
    return Invalid(field, "must not contain NUL characters");
  }
  return absl::OkStatus();
}

absl::Status CheckLanguageTag(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "must not be empty");
  if (value.size() > 64 || !IsLanguageTag(value)) {
    return Invalid(field, absl::StrCat("'", absl::CHexEscape(value.substr(0, 64)),
                                       "' is not a BCP 47 language tag (e.g. pt-BR, sv)"));
  }
  return absl::OkStatus();
}

absl::Status CheckTimeZone(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "must not be empty");
  absl::TimeZone tz;
  // absl also accepts "localtime" and "Fixed/UTC+hh:mm:ss", which are not IANA names.
  if (value.size() > 64 || value == "localtime" || absl::StartsWith(value, "Fixed/") ||
      !absl::LoadTimeZone(std::string(value), &tz)) {
    return Invalid(field, absl::StrCat("'", absl::CHexEscape(value.substr(0, 64)),
                                       "' is not an IANA time zone (e.g. Europe/Stockholm)"));
  }
  return absl::OkStatus();
}

absl::Status CheckRequestId(absl::string_view field, absl::string_view value) {
  return CheckText(field, value, 0, 128);
}

absl::StatusOr<int> ResolvePageSize(absl::string_view field, int64_t requested) {
  if (requested < 0) return Invalid(field, "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return static_cast<int>(requested > kMaxPageSize ? kMaxPageSize : requested);
}

}  // namespace sundesk::api
