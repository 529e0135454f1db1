#pragma once

#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "services/sla/domain/settings.h"
#include "services/sla/domain/ticket_clocks.h"
#include "sundesk/sla/v1/sla_service.grpc.pb.h"

namespace sundesk::sla {

// gRPC handlers of sundesk.sla.v1.SlaService: authenticate, check the role, translate proto
// <-> domain, call one domain method.
class SlaServiceHandlers final : public ::sundesk::sla::v1::SlaService::CallbackService {
 public:
  // Handlers run on `workers` (null: on gRPC's threads, as in tests).
  SlaServiceHandlers(SlaSettings& settings, TicketClocks& clocks,
                     const rpc::Authenticator& authenticator, WorkerPool* workers = nullptr)
      : settings_(settings), clocks_(clocks), auth_(authenticator), workers_(workers) {}

  grpc::ServerUnaryReactor* CreateCalendar(grpc::CallbackServerContext* context,
                                           const ::sundesk::sla::v1::CreateCalendarRequest* request,
                                           ::sundesk::sla::v1::Calendar* response) override;
  grpc::ServerUnaryReactor* GetCalendar(grpc::CallbackServerContext* context,
                                        const ::sundesk::sla::v1::GetCalendarRequest* request,
                                        ::sundesk::sla::v1::Calendar* response) override;
  grpc::ServerUnaryReactor* ListCalendars(
      grpc::CallbackServerContext* context, const ::sundesk::sla::v1::ListCalendarsRequest* request,
      ::sundesk::sla::v1::ListCalendarsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCalendar(grpc::CallbackServerContext* context,
                                           const ::sundesk::sla::v1::UpdateCalendarRequest* request,
                                           ::sundesk::sla::v1::Calendar* response) override;
  grpc::ServerUnaryReactor* CreatePolicy(grpc::CallbackServerContext* context,
                                         const ::sundesk::sla::v1::CreatePolicyRequest* request,
                                         ::sundesk::sla::v1::Policy* response) override;
  grpc::ServerUnaryReactor* ListPolicies(
      grpc::CallbackServerContext* context, const ::sundesk::sla::v1::ListPoliciesRequest* request,
      ::sundesk::sla::v1::ListPoliciesResponse* response) override;
  grpc::ServerUnaryReactor* UpdatePolicy(grpc::CallbackServerContext* context,
                                         const ::sundesk::sla::v1::UpdatePolicyRequest* request,
                                         ::sundesk::sla::v1::Policy* response) override;
  grpc::ServerUnaryReactor* GetTicketSla(grpc::CallbackServerContext* context,
                                         const ::sundesk::sla::v1::GetTicketSlaRequest* request,
                                         ::sundesk::sla::v1::TicketSla* response) override;

 private:
  SlaSettings& settings_;
  TicketClocks& clocks_;
  const rpc::Authenticator& auth_;
  WorkerPool* workers_;
};

}  // namespace sundesk::sla
