#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/status.h"

// Shapes for callback-API handlers, so each RPC method is: authenticate, call one domain
// method, map its result (here, in one place) to a grpc::Status.
namespace sundesk::rpc {

// Authenticates, runs `fn(const Principal&) -> absl::Status` (which fills the response),
// and finishes the call with its status.
template <typename Fn>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                const Authenticator& authenticator, Fn&& fn) {
  auto* reactor = context->DefaultReactor();
  auto principal = Authenticate(*context, authenticator);
  reactor->Finish(
      ToGrpcStatus(principal.ok() ? std::forward<Fn>(fn)(*principal) : principal.status()));
  return reactor;
}

// Finishes a call started with DeferredUnary; call it exactly once.
using UnaryFinish = absl::AnyInvocable<void(absl::Status) &&>;

// For handlers whose work completes on another thread (e.g. a write queued for group
// commit): authentication and `fn(const Principal&, UnaryFinish finish)` run on `pool`,
// never on gRPC's few callback threads (a null `pool` runs them inline), and `fn` must,
// now or later and from any thread, fill the response and then call `finish` once with
// the outcome. The pool's thread is free as soon as `fn` returns. `fn` may run after this
// returns, so it must own what it uses: capture `this`, `request` and `response` by value,
// never `[&]`. A call whose client gave up (deadline, cancel) while it waited for a thread
// is not run.
//
//   return rpc::DeferredUnary(workers_, context, auth_,
//       [this, request, response](const Principal& caller, rpc::UnaryFinish finish) {
//         domain_.DoAsync(..., [response, finish = std::move(finish)](auto r) mutable { ... });
//       });
template <typename Fn>
grpc::ServerUnaryReactor* DeferredUnary(WorkerPool* pool, grpc::CallbackServerContext* context,
                                        const Authenticator& authenticator, Fn fn) {
  static_assert(std::is_invocable_v<Fn&, const Principal&, UnaryFinish>);
  auto* reactor = context->DefaultReactor();
  auto run = [reactor, context, &authenticator, fn = std::move(fn)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish({grpc::StatusCode::CANCELLED, "the client gave up before the call ran"});
      return;
    }
    auto principal = Authenticate(*context, authenticator);
    if (!principal.ok()) {
      reactor->Finish(ToGrpcStatus(principal.status()));
      return;
    }
    fn(*principal,
       UnaryFinish([reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); }));
  };
  if (pool == nullptr) {
    run();
  } else {
    pool->Schedule(std::move(run));
  }
  return reactor;
}

// The same for handlers that block (PostgreSQL, Redis, other services) and have their
// outcome when `fn(const Principal&) -> absl::Status` returns: slow database calls then
// do not stall every other RPC of the process. Same capture rules as DeferredUnary.
//
//   return rpc::BlockingUnary(workers_, context, auth_,
//       [this, request, response](const Principal& caller) -> absl::Status { ... });
template <typename Fn>
grpc::ServerUnaryReactor* BlockingUnary(WorkerPool* pool, grpc::CallbackServerContext* context,
                                        const Authenticator& authenticator, Fn fn) {
  static_assert(std::is_invocable_r_v<absl::Status, Fn&, const Principal&>);
  return DeferredUnary(
      pool, context, authenticator,
      [fn = std::move(fn)](const Principal& principal, UnaryFinish finish) mutable {
        std::move(finish)(fn(principal));
      });
}

// A server stream finished at once with `status`.
template <typename Response>
class FinishedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriteReactor(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace sundesk::rpc
