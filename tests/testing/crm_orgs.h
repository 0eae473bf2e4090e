// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// CrmOrgs: the two orgs most record tests start from -- a primary and a
// secondary over the CRM schema (crm_schema.h), each with an in-memory
// RecordStore, joined by TwoOrgs and connected with every sync option off,
// so that the connection is Active at once -- and the steps those tests
// share: letting an object flow, finishing a bulk sync, reading a link,
// restarting both orgs.
//
// Not thread-safe; not copyable (the orgs point at the stores and schemas
// it holds).

#ifndef ORGSYNC_TESTS_TESTING_CRM_ORGS_H_
#define ORGSYNC_TESTS_TESTING_CRM_ORGS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orgsync/connection.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "testing/connection_fixture.h"

namespace orgsync::testing {

struct CrmOrgs {
  // `configure` may change the orgs' options before they open.
  explicit CrmOrgs(const std::function<void(TwoOrgsConfig&)>& configure = {});
  CrmOrgs(const CrmOrgs&) = delete;
  CrmOrgs& operator=(const CrmOrgs&) = delete;

  // `from` publishes `objects` and `to` subscribes them, each settled.
  void Flow(Connection* from, Connection* to,
            const std::vector<std::string>& objects);

  // Pumps until `on`'s bulk sync completed and nothing is queued or in
  // flight; false if that takes more than `max_rounds` rounds.
  bool FinishBulkSync(Connection* on, int max_rounds = 5000);

  // The partner's id of `on`'s record (object, id), if linked.
  static std::optional<std::string> PartnerOf(Connection* on,
                                              const std::string& object,
                                              const std::string& id);

  // Both orgs restart on what they stored; p and s are the reopened
  // connections.
  void Reopen();

  Schema primary_schema;
  Schema secondary_schema;
  ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  std::unique_ptr<TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_CRM_ORGS_H_
