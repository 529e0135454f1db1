#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/server_interceptor.h"

// A request gRPC cannot parse never reaches a handler: protobuf refuses it (a proto3
// string field that is not UTF-8, or bytes that are not a message) and gRPC's callback
// server then answers UNIMPLEMENTED with no message. This interceptor sees the failed parse
// (POST_RECV_MESSAGE without a message) and answers INVALID_ARGUMENT instead, naming the
// field where protobuf said which one it was:
//   "requester.email: not valid UTF-8"
namespace sundesk::rpc {

// Where `field_full_name` ("sundesk.ticket.v1.Requester.email") sits inside `request`, as
// a field path ("requester.email"): the shortest path, or the field's own name when the
// message does not contain it.
std::string FieldPathIn(const google::protobuf::Descriptor& request,
                        absl::string_view field_full_name);

// Makes protobuf's "invalid UTF-8 while parsing" errors available to the interceptor below
// (instead of logging them as server errors: they are the client's). Idempotent.
void CaptureProtobufParseErrors();

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory();

}  // namespace sundesk::rpc
