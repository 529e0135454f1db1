#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::routing {

// PostgreSQL's text form of a text[]: every element double-quoted with '"' and '\'
// escaped, so any text survives (skill names may hold commas and quotes). Sent as a
// parameter cast with ::text[].
std::string ToTextArray(const std::vector<std::string>& items);
// A text[] as PostgreSQL prints it (quoted or bare elements); INTERNAL when malformed.
absl::StatusOr<std::vector<std::string>> ParseTextArray(absl::string_view literal);

}  // namespace sundesk::routing
