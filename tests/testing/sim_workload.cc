// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_workload.h"

#include <fmt/format.h>

#include <utility>
#include <variant>

namespace orgsync::testing::sim {

Workload::Workload(const SimModel* model, HostLedger* ledger,
                   std::mt19937_64* rng, double race_rate)
    : model_(model), ledger_(ledger), rng_(rng), race_rate_(race_rate) {}

std::optional<Record> Workload::PickOne(Side& side, const std::string& object,
                                        bool deleted) {
  std::vector<Record> records;
  for (Record& record : side.All(object)) {
    if (record.deleted == deleted) records.push_back(std::move(record));
  }
  if (records.empty()) return std::nullopt;
  return records[Uniform(records.size())];
}

FieldValue Workload::RandomValue(Side& side, const SimObject& object,
                                 const std::string& field) {
  if (auto it = object.generated.find(field); it != object.generated.end()) {
    if (it->second == FieldType::kNumber) {
      return static_cast<double>(Uniform(4000000)) / 4;
    }
    return fmt::format("t{}", Uniform(1000000));
  }
  if (field == "Phone") return fmt::format("555-{:04}", Uniform(10000));
  if (field == "Industry") {
    static const char* kIndustries[] = {"Agriculture", "Banking", "Chemicals"};
    return std::string(kIndustries[Uniform(3)]);
  }
  if (field == "Revenue") return static_cast<double>(Uniform(100000)) / 4;
  if (field == "Email") return fmt::format("u{}@example.test", Uniform(1000));
  if (field == "Status") {
    static const char* kStatuses[] = {"New", "Working", "Closed"};
    return std::string(kStatuses[Uniform(3)]);
  }
  if (field == "Description") {
    return fmt::format("{} words about it", Uniform(1000000));
  }
  if (field == "Body") {
    // Drawn one after the other: the order of a call's arguments is the
    // compiler's, and a seed must replay the same run whatever built it
    // (the letter first, as GCC evaluated the arguments).
    const char letter = static_cast<char>('a' + Uniform(26));
    const size_t length = 1 + Uniform(64);
    return Binary{std::string(length, letter)};
  }
  if (field == "AccountId" || field == "ContactId") {
    const std::string target = field == "AccountId" ? "Account" : "Contact";
    std::optional<Record> parent = PickOne(side, target);
    return parent ? FieldValue(Reference{parent->id}) : FieldValue{};
  }
  throw SimulationFailure{"no generator for " + object.name + "." + field};
}

FieldMap Workload::RandomChanges(Side& side, const SimObject& object) {
  FieldMap changes;
  if (object.updatable.empty()) return changes;
  const size_t count = 1 + Uniform(object.wide() ? 5 : object.updatable.size());
  for (size_t i = 0; i < count; ++i) {
    const std::string& field =
        object.updatable[Uniform(object.updatable.size())];
    FieldValue value = RandomValue(side, object, field);
    // Contact.AccountId is required: keep the current value instead.
    if (object.name == "Contact" && field == "AccountId" &&
        std::holds_alternative<std::monostate>(value)) {
      continue;
    }
    changes[field] = std::move(value);
  }
  return changes;
}

void Workload::InsertWide(Side& side, const SimObject& object) {
  // Most fields set, some left blank, so that inserts and updates carry
  // from one field to the object's whole width.
  FieldMap fields = {{"Name", side.NextKey()}};
  for (const std::string& field : object.updatable) {
    if (Chance(0.7)) fields[field] = RandomValue(side, object, field);
  }
  side.Insert(object.name, std::move(fields));
}

void Workload::Write(Side& side) {
  const std::vector<SimObject>& objects = model_->objects();
  if (Chance(0.05)) {
    // The wide objects come after the five CRM ones.
    InsertWide(side, objects[5 + Uniform(objects.size() - 5)]);
    return;
  }
  const SimObject& account = model_->Find("Account");
  const uint64_t roll = Uniform(100);
  if (roll < 2) {
    side.InsertUncaptured("Account",
                          {{"Name", side.NextKey()},
                           {"Phone", RandomValue(side, account, "Phone")}});
  } else if (roll < 20) {
    side.Insert("Account",
                {{"Name", side.NextKey()},
                 {"Phone", RandomValue(side, account, "Phone")},
                 {"Industry", RandomValue(side, account, "Industry")},
                 {"Revenue", RandomValue(side, account, "Revenue")}});
  } else if (roll < 36) {
    std::optional<Record> parent = PickOne(side, "Account");
    if (!parent) return;
    side.Insert("Contact",
                {{"LastName", side.NextKey()},
                 {"Email", RandomValue(side, model_->Find("Contact"), "Email")},
                 {"AccountId", Reference{parent->id}}});
  } else if (roll < 46) {
    const SimObject& kase = model_->Find("Case");
    FieldMap fields = {{"Subject", side.NextKey()},
                       {"Status", RandomValue(side, kase, "Status")}};
    if (Chance(0.7)) fields["AccountId"] = RandomValue(side, kase, "AccountId");
    if (Chance(0.5)) fields["ContactId"] = RandomValue(side, kase, "ContactId");
    side.Insert("Case", std::move(fields));
  } else if (roll < 54) {
    std::optional<Record> parent = PickOne(side, "Case");
    if (!parent) return;
    side.Insert("CaseComment", {{"Body", side.NextKey()},
                                {"ParentId", Reference{parent->id}}});
  } else if (roll < 58) {
    std::optional<Record> parent = PickOne(side, "Case");
    if (!parent) return;
    side.Insert(
        "Attachment",
        {{"Name", side.NextKey()},
         {"ParentId", Reference{parent->id}},
         {"Body", RandomValue(side, model_->Find("Attachment"), "Body")}});
  } else if (roll < 84) {
    const SimObject& object = objects[Uniform(objects.size())];
    if (object.updatable.empty()) return;
    std::optional<Record> record = PickOne(side, object.name);
    if (!record) return;
    const FieldMap changes = RandomChanges(side, object);
    if (changes.empty()) return;
    side.Update(*record, changes);
  } else if (roll < 93) {
    const SimObject& object = objects[Uniform(objects.size())];
    std::optional<Record> record = PickOne(side, object.name);
    if (!record) return;
    side.Delete(*record);
  } else {
    const SimObject& object = objects[Uniform(objects.size())];
    std::optional<Record> record = PickOne(side, object.name, true);
    if (!record) return;
    side.Undelete(*record);
  }
}

void Workload::Race(Side& side, std::string_view object_name,
                    std::string_view id, const FieldMap& changes) {
  if (side.down() || !Chance(race_rate_)) return;
  const SimObject& object = model_->Find(object_name);
  if (object.updatable.empty()) return;
  const Record record = side.Get(object.name, std::string(id));
  // The host does not edit a deleted record (its store refuses).
  if (record.deleted) return;
  // Half the races write a field the update carries (a conflict the
  // update must not overwrite), the others another field (which must
  // survive the update's merge).
  std::vector<std::string> carried;
  for (const auto& [field, value] : changes) {
    for (const std::string& updatable : object.updatable) {
      if (updatable == field) carried.push_back(field);
    }
  }
  const std::string field =
      !carried.empty() && Chance(0.5)
          ? carried[Uniform(carried.size())]
          : object.updatable[Uniform(object.updatable.size())];
  FieldValue value = RandomValue(side, object, field);
  if (object.name == "Contact" && field == "AccountId" &&
      std::holds_alternative<std::monostate>(value)) {
    return;
  }
  Trace("{} races apply's update of {} {}:", side.org_id(), object.name, id);
  side.Update(record, {{field, value}});
  if (side.down()) return;  // the racing write's fate is the crash's
  ++races_;
  const std::string key = model_->KeyOf(record);
  ledger_->NoteRace(sim::Race{.org_id = side.org_id(),
                              .key = key,
                              .id = record.id,
                              .field = field,
                              .value = std::move(value),
                              .writes_then = ledger_->writes(key, field)});
}

}  // namespace orgsync::testing::sim
