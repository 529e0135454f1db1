#pragma once

#include <string>

namespace sundesk {

// Who calls, as a service's domain sees it: plain C++, so domain code needs no gRPC. The
// api layer maps the authenticated rpc::Principal onto it (rpc::ToCaller).
enum class CallerRole { kAdmin = 1, kClient = 2, kAgent = 3, kService = 4 };  // common.v1.Role

struct Caller {
  CallerRole role = CallerRole::kClient;
  std::string tenant_id;  // CLIENT keys: their own tenant
  std::string agent_id;   // AGENT keys: their agent
  std::string key_id;     // which key, for audit trails (never the secret)
};

}  // namespace sundesk
