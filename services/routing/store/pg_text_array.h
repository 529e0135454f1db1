#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::routing {

// PostgreSQL's text form of a text[]: every element double-quoted with '"' and '\'
// escaped, so any text survives (skill names may hold commas and quotes). Only for a text[]
// carried inside another array's element (unnest's rows), cast there with ::text[]; a
// text[] parameter of its own is pg::Param::TextArray (binary, nothing to escape).
std::string ToTextArray(const std::vector<std::string>& items);
// A text[] as PostgreSQL prints it (quoted or bare elements); INTERNAL when malformed.
absl::StatusOr<std::vector<std::string>> ParseTextArray(absl::string_view literal);

}  // namespace sundesk::routing
