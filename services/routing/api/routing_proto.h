#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/routing/domain/agent.h"
#include "sundesk/routing/v1/resources.pb.h"

// Translation between sundesk.routing.v1 messages and the routing domain.
namespace sundesk::routing {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
// INVALID_ARGUMENT naming `field` outside google.protobuf.Timestamp's range.
absl::StatusOr<absl::Time> FromTimestamp(absl::string_view field,
                                         const google::protobuf::Timestamp& ts);

// Output-only fields are ignored. Fails only on a malformed certification expire_time.
absl::StatusOr<Agent> AgentFromProto(const v1::Agent& p);
void AgentToProto(const Agent& a, v1::Agent* p);

}  // namespace sundesk::routing
