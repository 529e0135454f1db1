#include "tools/deskctl/schema.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace sundesk::deskctl {

namespace pb = google::protobuf;

Schema::Schema(const Connection& connection)
    : reflection_(connection),
      compiled_in_(*pb::DescriptorPool::generated_pool()),
      merged_(&reflection_, &compiled_in_),
      pool_(&merged_),
      factory_(&pool_) {}

absl::StatusOr<std::vector<std::string>> Schema::ListServices() {
  return reflection_.ListServices();
}

absl::Status Schema::LookupError(const std::string& what) const {
  absl::Status error = reflection_.last_error();
  if (!error.ok() && error.code() != absl::StatusCode::kNotFound) return error;
  return absl::NotFoundError(absl::StrCat(what, " is not known to the server (reflection)"));
}

absl::StatusOr<std::vector<std::string>> Schema::ListMethods(const std::string& service) {
  const pb::ServiceDescriptor* descriptor = pool_.FindServiceByName(service);
  if (descriptor == nullptr) return LookupError("service " + service);
  std::vector<std::string> names;
  names.reserve(descriptor->method_count());
  for (int i = 0; i < descriptor->method_count(); ++i) {
    names.push_back(absl::StrCat(service, "/", descriptor->method(i)->name()));
  }
  return names;
}

absl::StatusOr<const pb::MethodDescriptor*> Schema::FindMethod(const std::string& name) {
  absl::string_view full = absl::StripPrefix(name, "/");
  std::string dotted = absl::StrReplaceAll(full, {{"/", "."}});
  size_t last_dot = dotted.rfind('.');
  if (last_dot == std::string::npos || last_dot == 0 || last_dot + 1 == dotted.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is not a method name (package.Service/Method)"));
  }
  if (const pb::MethodDescriptor* method = pool_.FindMethodByName(dotted)) return method;
  std::string service = dotted.substr(0, last_dot);
  if (pool_.FindServiceByName(service) != nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown method ", dotted.substr(last_dot + 1), " in service ", service));
  }
  return LookupError(absl::StrCat("method ", full));
}

absl::StatusOr<std::string> Schema::Describe(const std::string& symbol) {
  std::string dotted = absl::StrReplaceAll(absl::StripPrefix(symbol, "/"), {{"/", "."}});
  if (const pb::ServiceDescriptor* service = pool_.FindServiceByName(dotted)) {
    return service->DebugString();
  }
  if (const pb::MethodDescriptor* method = pool_.FindMethodByName(dotted)) {
    return absl::StrCat(method->DebugString(), "\n", method->input_type()->DebugString(),
                        method->output_type() == method->input_type()
                            ? ""
                            : "\n" + method->output_type()->DebugString());
  }
  if (const pb::Descriptor* message = pool_.FindMessageTypeByName(dotted)) {
    return message->DebugString();
  }
  if (const pb::EnumDescriptor* enum_type = pool_.FindEnumTypeByName(dotted)) {
    return enum_type->DebugString();
  }
  return LookupError("symbol " + symbol);
}

std::unique_ptr<pb::Message> Schema::NewMessage(const pb::Descriptor* type) {
  return std::unique_ptr<pb::Message>(factory_.GetPrototype(type)->New());
}

}  // namespace sundesk::deskctl
