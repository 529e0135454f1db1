#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Field checks shared by every service's requests (API.md, "Everywhere").
// Every failure is INVALID_ARGUMENT and its message starts with the field's path as the
// client wrote it ("tenant.languages[2]: ..."), as API.md promises.
namespace sundesk::api {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view s);
// Code points in a valid UTF-8 string.
size_t Utf8Length(absl::string_view s);

// A practical BCP 47 check: a 2–3 letter language subtag, then subtags of 2–8 letters or
// digits ("pt-BR", "sv", "zh-Hant-TW"). Not a registry lookup.
bool IsLanguageTag(absl::string_view s);

// Valid UTF-8 without NUL (PostgreSQL text cannot hold it), min_chars..max_chars code points.
absl::Status CheckText(absl::string_view field, absl::string_view value, size_t min_chars,
                       size_t max_chars);
// Valid UTF-8 without NUL, at most max_bytes bytes (for large free text: guidelines, bodies).
absl::Status CheckTextBytes(absl::string_view field, absl::string_view value, size_t max_bytes);
absl::Status CheckLanguageTag(absl::string_view field, absl::string_view value);
// An IANA zone name absl::LoadTimeZone knows ("Europe/Stockholm", "UTC").
absl::Status CheckTimeZone(absl::string_view field, absl::string_view value);
// An AIP-155 request id: empty (no idempotency) or at most 128 chars of valid UTF-8.
absl::Status CheckRequestId(absl::string_view field, absl::string_view value);

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;
// 0 means kDefaultPageSize, above kMaxPageSize reads as kMaxPageSize, negative is invalid.
absl::StatusOr<int> ResolvePageSize(absl::string_view field, int64_t requested);

}  // namespace sundesk::api
