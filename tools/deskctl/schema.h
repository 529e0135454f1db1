#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "tools/deskctl/connection.h"
#include "tools/deskctl/reflection_database.h"

namespace sundesk::deskctl {

// The server's proto schema as deskctl sees it: what reflection tells, and after that the
// protos compiled into deskctl (grpc.health.v1), because gRPC's built-in health service
// is listed by reflection but its descriptor is not served.
class Schema {
 public:
  explicit Schema(const Connection& connection);

  absl::StatusOr<std::vector<std::string>> ListServices();
  // `package.Service/Method` for each method of `service`.
  absl::StatusOr<std::vector<std::string>> ListMethods(const std::string& service);
  // Accepts `package.Service/Method`, `/package.Service/Method` and `package.Service.Method`.
  absl::StatusOr<const google::protobuf::MethodDescriptor*> FindMethod(const std::string& name);
  // A service, method, message or enum as proto text; a method comes with its messages.
  absl::StatusOr<std::string> Describe(const std::string& symbol);

  // An empty message of `type`, valid while this Schema lives.
  std::unique_ptr<google::protobuf::Message> NewMessage(const google::protobuf::Descriptor* type);

 private:
  // NOT_FOUND naming `what`, unless reflection itself failed (UNAVAILABLE, ...).
  absl::Status LookupError(const std::string& what) const;

  ReflectionDatabase reflection_;
  google::protobuf::DescriptorPoolDatabase compiled_in_;
  google::protobuf::MergedDescriptorDatabase merged_;
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_;
};

}  // namespace sundesk::deskctl
