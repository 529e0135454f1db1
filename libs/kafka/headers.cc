#include "libs/kafka/headers.h"

namespace sundesk::kafka {

std::optional<absl::string_view> FindHeader(const Headers& headers, absl::string_view key) {
  for (const Header& h : headers) {
    if (h.key == key) return absl::string_view(h.value);
  }
  return std::nullopt;
}

}  // namespace sundesk::kafka
