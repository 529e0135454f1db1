#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::pg {

// PostgreSQL's text form of a one-dimensional text[] without NULLs ("{...}"), for the few
// places that need the text itself. A text[] parameter of its own is Param::TextArray
// (binary, nothing to escape); this is for a text[] carried inside another array's
// element (e.g. the tags column of rows sent through unnest), cast there with ::text[].

// Every element double-quoted, '"' and '\' escaped, so any text survives.
std::string TextArrayLiteral(const std::vector<std::string>& items);

// The elements of a text[] as PostgreSQL prints it in a result ({a,"b c","d\"e"}; bare or
// quoted elements); DATA_LOSS when it is not one.
absl::StatusOr<std::vector<std::string>> ParseTextArray(absl::string_view literal);

}  // namespace sundesk::pg
