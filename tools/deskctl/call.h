#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "tools/deskctl/connection.h"
#include "tools/deskctl/schema.h"

namespace sundesk::deskctl {

struct CallRequest {
  std::string method;                       // package.Service/Method
  std::optional<std::string> request_json;  // the argument as given; "-" means stdin
  bool emit_defaults = false;
  bool timeout_given = false;
};

// Calls one method of any kind and writes each response to `out` as one line of JSON, as
// it arrives. Requests for client and bidi streaming are read from `in_fd`, one JSON
// object per line. Answers the call's status, or the local error (bad JSON, unknown
// method) that stopped it.
absl::Status Call(const Connection& connection, Schema& schema, const CallRequest& request,
                  int in_fd, std::ostream& out);

}  // namespace sundesk::deskctl
