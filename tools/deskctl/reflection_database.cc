#include "tools/deskctl/reflection_database.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sundesk::deskctl {

namespace reflection = grpc::reflection::v1alpha;

absl::StatusOr<ReflectionDatabase::Response> ReflectionDatabase::Ask(const Request& request) {
  grpc::ClientContext context;
  connection_.Prepare(context, /*with_deadline=*/true);
  reflection::ServerReflection::Stub stub(connection_.channel());
  auto stream = stub.ServerReflectionInfo(&context);
  Response response;
  bool answered = stream->Write(request) && stream->WritesDone() && stream->Read(&response);
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status);
  if (!answered) return absl::UnavailableError("the reflection stream ended without an answer");
  if (response.has_error_response()) {
    return absl::Status(static_cast<absl::StatusCode>(response.error_response().error_code()),
                        response.error_response().error_message());
  }
  return response;
}

absl::StatusOr<std::vector<std::string>> ReflectionDatabase::ListServices() {
  absl::MutexLock lock(&mu_);
  Request request;
  request.set_list_services("");
  absl::StatusOr<Response> response = Ask(request);
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const auto& service : response->list_services_response().service()) {
    names.push_back(service.name());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool ReflectionDatabase::TakeFiles(const absl::StatusOr<Response>& response,
                                   google::protobuf::FileDescriptorProto* output) {
  if (!response.ok()) {
    last_error_ = response.status();
    return false;
  }
  const auto& files = response->file_descriptor_response().file_descriptor_proto();
  if (files.empty()) {
    last_error_ = absl::NotFoundError("the server sent no file");
    return false;
  }
  for (int i = 0; i < files.size(); ++i) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(files[i])) {
      last_error_ = absl::DataLossError("the server sent a file descriptor that does not parse");
      return false;
    }
    if (i == 0) *output = file;
    std::string name = file.name();
    files_.emplace(std::move(name), std::move(file));
  }
  last_error_ = absl::OkStatus();
  return true;
}

bool ReflectionDatabase::FindFileByName(const std::string& filename,
                                        google::protobuf::FileDescriptorProto* output) {
  absl::MutexLock lock(&mu_);
  if (auto it = files_.find(filename); it != files_.end()) {
    *output = it->second;
    return true;
  }
  std::string key = "file:" + filename;
  if (missing_.contains(key)) return false;
  Request request;
  request.set_file_by_filename(filename);
  if (TakeFiles(Ask(request), output)) return true;
  missing_.insert(key);
  return false;
}

bool ReflectionDatabase::FindFileContainingSymbol(const std::string& symbol_name,
                                                  google::protobuf::FileDescriptorProto* output) {
  absl::MutexLock lock(&mu_);
  std::string key = "symbol:" + symbol_name;
  if (missing_.contains(key)) return false;
  Request request;
  request.set_file_containing_symbol(symbol_name);
  if (TakeFiles(Ask(request), output)) return true;
  missing_.insert(key);
  return false;
}

bool ReflectionDatabase::FindFileContainingExtension(
    const std::string& containing_type, int field_number,
    google::protobuf::FileDescriptorProto* output) {
  absl::MutexLock lock(&mu_);
  std::string key = absl::StrCat("extension:", containing_type, ":", field_number);
  if (missing_.contains(key)) return false;
  Request request;
  request.mutable_file_containing_extension()->set_containing_type(containing_type);
  request.mutable_file_containing_extension()->set_extension_number(field_number);
  if (TakeFiles(Ask(request), output)) return true;
  missing_.insert(key);
  return false;
}

bool ReflectionDatabase::FindAllExtensionNumbers(const std::string& extendee_type,
                                                 std::vector<int>* output) {
  absl::MutexLock lock(&mu_);
  Request request;
  request.set_all_extension_numbers_of_type(extendee_type);
  absl::StatusOr<Response> response = Ask(request);
  if (!response.ok()) {
    last_error_ = response.status();
    return false;
  }
  const auto& numbers = response->all_extension_numbers_response().extension_number();
  output->assign(numbers.begin(), numbers.end());
  return true;
}

absl::Status ReflectionDatabase::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

}  // namespace sundesk::deskctl
