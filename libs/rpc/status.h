#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace sundesk::rpc {

// The one place where a domain result becomes a gRPC status. absl and gRPC share their
// code numbers; UNKNOWN never leaves a service (it becomes INTERNAL, which is logged).
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// The code's name as go-grpc-prometheus labels it (Go's codes.Code names:
// "OK", "InvalidArgument", "Unauthenticated"), so existing dashboards work unchanged.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace sundesk::rpc
