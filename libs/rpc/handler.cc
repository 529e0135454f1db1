#include "libs/rpc/handler.h"

#include "absl/strings/str_cat.h"

namespace sundesk::rpc {

grpc::Status NotImplementedStatus(const grpc::ServerContextBase& context,
                                  const Authenticator& authenticator, absl::string_view method) {
  auto principal = Authenticate(context, authenticator);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return {grpc::StatusCode::UNIMPLEMENTED, absl::StrCat(method, " is not implemented yet")};
}

}  // namespace sundesk::rpc
