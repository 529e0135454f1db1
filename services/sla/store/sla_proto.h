#pragma once
// Domain <-> sundesk.sla.v1 messages, for responses, requests and stored calendar bodies.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/sla/domain/settings.h"
#include "services/sla/domain/sla_model.h"
#include "sundesk/sla/v1/resources.pb.h"

namespace sundesk::sla {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
void SetDuration(absl::Duration d, google::protobuf::Duration* out);
// INVALID_ARGUMENT "<field>: ..." for a Duration protobuf says is malformed.
absl::StatusOr<absl::Duration> FromDuration(absl::string_view field,
                                            const google::protobuf::Duration& d);

void ToProto(const Calendar& c, v1::Calendar* out);
Calendar FromProto(const v1::Calendar& p);

void ToProto(const Policy& p, v1::Policy* out);
// INVALID_ARGUMENT for a malformed target Duration.
absl::StatusOr<Policy> FromProto(const v1::Policy& p);

}  // namespace sundesk::sla
