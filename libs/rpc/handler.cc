#include "libs/rpc/handler.h"

#include "absl/strings/str_cat.h"

namespace sundesk::rpc {

grpc::Status NotImplementedStatus(const grpc::ServerContextBase& context,
                                  const Authenticator& authenticator, absl::string_view method) {
  auto principal = Authenticate(context, authenticator);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return {grpc::StatusCode::UNIMPLEMENTED, absl::StrCat(method, " is not implemented yet")};
}

grpc::ServerUnaryReactor* NotImplementedUnary(grpc::CallbackServerContext* context,
                                              const Authenticator& authenticator,
                                              absl::string_view method) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(NotImplementedStatus(*context, authenticator, method));
  return reactor;
}

}  // namespace sundesk::rpc
