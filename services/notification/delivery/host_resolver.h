#pragma once

#include "services/notification/domain/target_rules.h"

namespace sundesk::notification {

// HostResolver over getaddrinfo (the system's resolver: /etc/hosts, then DNS).
class SystemHostResolver final : public HostResolver {
 public:
  absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) const override;
};

}  // namespace sundesk::notification
