// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// What the simulated orgs hold (tests/testing/simulation.h): the objects a
// seed syncs -- the CRM-like ones with their lookups and cascades, and
// "wide" custom objects whose number of text and number fields (1 to 300)
// the seed picks -- the schema and RecordStore options built from them, and
// what every part of the simulation shares: its failure type, Check and
// tracing.
//
// Not thread-safe: a simulation runs on one thread.

#ifndef ORGSYNC_TESTS_TESTING_SIM_MODEL_H_
#define ORGSYNC_TESTS_TESTING_SIM_MODEL_H_

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/clock.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"

namespace orgsync::testing::sim {

// Any failure inside a run; caught by RunSimulation and reported with the
// seed, so that one bad seed does not hide behind a Catch2 REQUIRE deep in
// a helper.
struct SimulationFailure {
  std::string what;
};

// Throws SimulationFailure("<doing>: <status>") unless `status` is OK.
void Check(const absl::Status& status, std::string_view doing);

// ORGSYNC_SIM_TRACE=1 prints every event of a run (to replay one seed).
bool Tracing();

template <typename... Args>
void Trace(fmt::format_string<Args...> format, Args&&... args) {
  if (Tracing()) {
    fmt::print(stderr, "{}\n",
               fmt::format(format, std::forward<Args>(args)...));
  }
}

// One synced object: the field that names a record the same way in both
// orgs (ids differ between orgs) and is never updated, the fields the
// workload updates, and, for a wide object, the type of each generated
// field.
struct SimObject {
  std::string name;
  std::string key_field;
  std::vector<std::string> updatable;
  // Wide objects only: field -> kText or kNumber.
  std::map<std::string, FieldType> generated;
  bool wide() const { return !generated.empty(); }
};

class SimModel {
 public:
  // The CRM objects, then the wide objects the seed's generator picks.
  explicit SimModel(std::mt19937_64& rng);

  const std::vector<SimObject>& objects() const { return objects_; }
  // Throws SimulationFailure for an object that is not synced.
  const SimObject& Find(std::string_view name) const;
  std::vector<std::string> ObjectNames() const;
  // The wide objects' fields, summed (for the run's description).
  size_t wide_fields() const;

  // Adds every object to `schema` (the same in both orgs).
  void FillSchema(Schema* schema) const;

  // "object key": how the final check names a record in both orgs.
  std::string KeyOf(const Record& record) const;

 private:
  std::vector<SimObject> objects_;
};

// The host's store options over `schema` (SimModel::FillSchema's, whose
// master-detail fields are the cascades; not owned). Stamps come from
// `clock` (the org's own).
RecordStoreOptions StoreOptions(const Schema* schema, Clock* clock,
                                std::string id_prefix);

// Whether deleting the record `field` of `object` points at deletes the
// record too: the field is master-detail in `schema` (R33).
bool IsCascadeLookup(const Schema& schema, std::string_view object,
                     std::string_view field);

// A field value as text, "<null>" for a missing or null one.
std::string Text(const Record& record, const std::string& field);

// " name=value ..." for traces.
std::string Describe(const FieldMap& fields);

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_MODEL_H_
