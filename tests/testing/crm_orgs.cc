// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/crm_orgs.h"

#include <catch2/catch.hpp>
#include <utility>

#include "absl/status/statusor.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/org.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync::testing {

CrmOrgs::CrmOrgs(const std::function<void(TwoOrgsConfig&)>& configure) {
  FillSchema(&primary_schema);
  FillSchema(&secondary_schema);
  TwoOrgsConfig config;
  config.primary_schema = &primary_schema;
  config.secondary_schema = &secondary_schema;
  config.primary_record_store = primary_store.get();
  config.secondary_record_store = secondary_store.get();
  config.delivery.ack_timeout = absl::Seconds(5);
  if (configure) configure(config);
  t = std::make_unique<TwoOrgs>(1, NewReopenableMemoryStorage(),
                                NewReopenableMemoryStorage(),
                                std::move(config));
  store_clock.target = &t->clock;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  std::tie(p, s) = t->Connect(options);
  REQUIRE(p->status() == ConnectionStatus::kActive);
}

void CrmOrgs::Flow(Connection* from, Connection* to,
                   const std::vector<std::string>& objects) {
  FlowObjects(*t, from, to, objects);
}

bool CrmOrgs::FinishBulkSync(Connection* on, int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    absl::StatusOr<std::optional<BulkSyncProgress>> status =
        on->BulkSyncStatus();
    RequireOk(status.status());
    if (status->has_value() && (*status)->state == BulkSyncState::kCompleted &&
        t->Settle()) {
      return true;
    }
    t->Pump();
  }
  return false;
}

std::optional<std::string> CrmOrgs::PartnerOf(Connection* on,
                                              const std::string& object,
                                              const std::string& id) {
  absl::StatusOr<std::optional<std::string>> partner =
      on->PartnerRecordId(object, id);
  RequireOk(partner.status());
  return *partner;
}

void CrmOrgs::Reopen() {
  const std::string id = p->id();
  t->Reopen(id);
  absl::StatusOr<Connection*> primary = t->primary->GetConnection(id);
  absl::StatusOr<Connection*> secondary = t->secondary->GetConnection(id);
  RequireOk(primary.status());
  RequireOk(secondary.status());
  p = *primary;
  s = *secondary;
}

}  // namespace orgsync::testing
