// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_verify.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "orgsync/connection.h"

namespace orgsync::testing::sim {
namespace {

// The check key of `id` (sim_checks.h); empty for no such record.
std::string KeyOf(const std::map<std::string, std::string>& keys,
                  const std::string& id) {
  auto key = keys.find(id);
  return key == keys.end() ? "" : key->second;
}

}  // namespace

void CheckVerify(const VerifyReport& report, Side& from, bool from_primary,
                 const CheckResult& checked) {
  const std::string who = fmt::format("Verify from {}", from.org_id());
  if (report.state != VerifyState::kCompleted) {
    throw SimulationFailure{fmt::format("{} did not complete: {}", who,
                                        report.error)};
  }
  std::string problems;
  const std::map<std::string, std::string>& keys_here =
      from_primary ? checked.primary_keys : checked.secondary_keys;
  const std::map<std::string, std::string>& keys_there =
      from_primary ? checked.secondary_keys : checked.primary_keys;
  // Every record Verify flags must be one the comparison saw differ.
  auto flagged = [&](const std::map<std::string, std::string>& keys,
                     const std::string& object, const std::string& id,
                     std::string_view kind) {
    const std::string key = KeyOf(keys, id);
    if (!checked.differing_keys.contains(key)) {
      problems += fmt::format(
          "\n  {} reports {} {} {} ({}), which the orgs hold alike", who,
          kind, object, id, key.empty() ? "no such record" : key);
    }
  };
  std::set<std::string> reported;  // keys, of `from`'s records
  for (const VerifyObjectReport& object : report.objects) {
    if (object.pending != 0) {
      problems += fmt::format("\n  {} counts {} {} records pending on idle "
                              "orgs",
                              who, object.pending, object.object);
    }
    for (const VerifiedRecord& record : object.differing_records) {
      flagged(keys_here, object.object, record.local_id, "differing");
      reported.insert(KeyOf(keys_here, record.local_id));
    }
    for (const VerifiedRecord& record : object.only_here_records) {
      flagged(keys_here, object.object, record.local_id, "only here");
      reported.insert(KeyOf(keys_here, record.local_id));
    }
    for (const VerifiedRecord& record : object.only_there_records) {
      flagged(keys_there, object.partner_object, record.partner_id,
              "only there");
    }
    if (object.differing != object.differing_records.size() ||
        object.only_here != object.only_here_records.size()) {
      problems += fmt::format("\n  {} lists fewer {} records than it counts",
                              who, object.object);
    }
    // Every linked record that differs is reported.
    for (const Record& record : from.All(object.object)) {
      const std::string key = KeyOf(keys_here, record.id);
      if (!checked.differing_keys.contains(key) || reported.contains(key)) {
        continue;
      }
      absl::StatusOr<std::optional<std::string>> partner =
          from.connection()->PartnerRecordId(object.object, record.id);
      Check(partner.status(), "reading a link");
      if (!partner->has_value()) continue;  // unlinked: listed as such
      problems += fmt::format(
          "\n  {} does not report {} {} ({}), linked to {} and differing", who,
          object.object, record.id, key, **partner);
    }
  }
  if (!problems.empty()) {
    throw SimulationFailure{fmt::format("{} disagrees with the record by "
                                        "record comparison:{}",
                                        who, problems)};
  }
}

}  // namespace orgsync::testing::sim
