#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tools/deskctl/connection.h"

namespace sundesk::deskctl {

// A DescriptorDatabase answered by the server's reflection service. It speaks
// grpc.reflection.v1alpha, the only version gRPC 1.51 servers offer. The server sends a
// file together with everything it imports; all of them are kept, so a DescriptorPool on
// top costs one round trip per symbol it has not seen.
class ReflectionDatabase final : public google::protobuf::DescriptorDatabase {
 public:
  explicit ReflectionDatabase(const Connection& connection) : connection_(connection) {}

  absl::StatusOr<std::vector<std::string>> ListServices();

  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(const std::string& symbol_name,
                                google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   google::protobuf::FileDescriptorProto* output) override;
  bool FindAllExtensionNumbers(const std::string& extendee_type, std::vector<int>* output) override;

  // Why the most recent lookup failed: NOT_FOUND from the server, or the transport's error
  // (UNAVAILABLE, UNAUTHENTICATED, ...). OK when it did not fail.
  absl::Status last_error() const;

 private:
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;

  // One request on a stream of its own, so no stream outlives its deadline.
  absl::StatusOr<Response> Ask(const Request& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps the files of a file_descriptor_response and copies the first one to `output`.
  bool TakeFiles(const absl::StatusOr<Response>& response,
                 google::protobuf::FileDescriptorProto* output) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Connection& connection_;
  mutable absl::Mutex mu_;
  std::map<std::string, google::protobuf::FileDescriptorProto> files_ ABSL_GUARDED_BY(mu_);
  // The pool asks again for what it did not find; the server is asked once.
  std::set<std::string> missing_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::deskctl
