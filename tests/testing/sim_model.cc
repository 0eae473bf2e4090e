// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_model.h"

#include <cstdlib>

#include "testing/crm_schema.h"

namespace orgsync::testing::sim {

void Check(const absl::Status& status, std::string_view doing) {
  if (!status.ok()) {
    throw SimulationFailure{fmt::format("{}: {}", doing, status.ToString())};
  }
}

bool Tracing() {
  static const bool tracing = [] {
    const char* value = std::getenv("ORGSYNC_SIM_TRACE");
    return value != nullptr && *value != '\0' && *value != '0';
  }();
  return tracing;
}

SimModel::SimModel(std::mt19937_64& rng) {
  objects_ = {
      {"Account", "Name", {"Phone", "Industry", "Revenue"}, {}},
      {"Contact", "LastName", {"Email", "AccountId"}, {}},
      {"Case", "Subject", {"Status", "Description", "ContactId"}, {}},
      {"CaseComment", "Body", {}, {}},
      {"Attachment", "Name", {"Body"}, {}},
  };
  // One wide object in every seed, a second in half of them, each with 1
  // to 300 fields (uniform), so that both the smallest records and records
  // far larger than the CRM's (in payload, stamps and envelope size)
  // travel.
  const int wide_objects = 1 + static_cast<int>(rng() % 2);
  for (int i = 0; i < wide_objects; ++i) {
    SimObject object;
    object.name = i == 0 ? "Survey" : "Inspection";
    object.key_field = "Name";
    const size_t fields = 1 + rng() % 300;
    for (size_t f = 1; f <= fields; ++f) {
      const std::string name = fmt::format("F{:03}", f);
      object.generated[name] =
          rng() % 2 == 0 ? FieldType::kText : FieldType::kNumber;
      object.updatable.push_back(name);
    }
    objects_.push_back(std::move(object));
  }
}

const SimObject& SimModel::Find(std::string_view name) const {
  for (const SimObject& object : objects_) {
    if (object.name == name) return object;
  }
  throw SimulationFailure{fmt::format("unknown object {}", name)};
}

std::vector<std::string> SimModel::ObjectNames() const {
  std::vector<std::string> names;
  for (const SimObject& object : objects_) names.push_back(object.name);
  return names;
}

size_t SimModel::wide_fields() const {
  size_t fields = 0;
  for (const SimObject& object : objects_) fields += object.generated.size();
  return fields;
}

// Contact.AccountId is required: a contact's parent must exist on the
// receiving side before the contact does (R14). The master-detail fields
// are the cascades (R33): deleting an account takes its contacts, deleting
// a case its comments and attachments; a case outlives its account and
// contact.
void SimModel::FillSchema(Schema* schema) const {
  FieldDef revenue = Field("Revenue", FieldType::kCurrency);
  revenue.precision = 18;
  revenue.scale = 2;
  FieldDef account_of_contact =
      Lookup("AccountId", "Account", FieldType::kMasterDetail);
  account_of_contact.required = true;
  ObjectDef comment = Object(
      "CaseComment", {Lookup("ParentId", "Case", FieldType::kMasterDetail),
                      Field("Body", FieldType::kLongText, 4000)});
  comment.child_only = true;
  ObjectDef attachment = Object(
      "Attachment", {Lookup("ParentId", "Case", FieldType::kMasterDetail),
                     Field("Name", FieldType::kText, 255),
                     Field("Body", FieldType::kBinary)});
  attachment.is_file = true;
  std::vector<ObjectDef> defs = {
      Object("Account",
             {Field("Name", FieldType::kText, 255),
              Field("Phone", FieldType::kPhone),
              Picklist("Industry", {"Agriculture", "Banking", "Chemicals"}),
              revenue}),
      Object("Contact",
             {Field("LastName", FieldType::kText, 80),
              Field("Email", FieldType::kEmail), account_of_contact}),
      Object("Case",
             {Field("Subject", FieldType::kText, 255),
              Lookup("AccountId", "Account"), Lookup("ContactId", "Contact"),
              Picklist("Status", {"New", "Working", "Closed"}),
              Field("Description", FieldType::kLongText, 32000)}),
      comment, attachment};
  for (const SimObject& object : objects_) {
    if (!object.wide()) continue;
    std::vector<FieldDef> fields = {Field("Name", FieldType::kText, 80)};
    for (const auto& [name, type] : object.generated) {
      FieldDef field = Field(name, type, type == FieldType::kText ? 80 : 0);
      if (type == FieldType::kNumber) {
        field.precision = 18;
        field.scale = 2;
      }
      fields.push_back(std::move(field));
    }
    defs.push_back(Object(object.name, std::move(fields)));
  }
  for (const ObjectDef& def : defs) {
    Check(schema->AddObject(def), "adding " + def.name + " to the schema");
  }
}

std::string SimModel::KeyOf(const Record& record) const {
  return record.object + " " + Text(record, Find(record.object).key_field);
}

RecordStoreOptions StoreOptions(const Schema* schema, Clock* clock,
                                std::string id_prefix) {
  RecordStoreOptions options;
  options.schema = schema;
  options.clock = clock;
  options.id_prefix = std::move(id_prefix);
  options.user = "U1";
  return options;
}

bool IsCascadeLookup(const Schema& schema, std::string_view object,
                     std::string_view field) {
  const std::shared_ptr<const ObjectDef> def = schema.FindObject(object);
  if (def == nullptr) return false;
  const FieldDef* found = def->FindField(field);
  return found != nullptr && IsCascadingLookupFieldType(found->type);
}

std::string Text(const Record& record, const std::string& field) {
  auto it = record.fields.find(field);
  if (it == record.fields.end() ||
      std::holds_alternative<std::monostate>(it->second)) {
    return "<null>";
  }
  return FormatFieldValue(it->second);
}

std::string Describe(const FieldMap& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += fmt::format(" {}={}", name, FormatFieldValue(value));
  }
  return out;
}

}  // namespace orgsync::testing::sim
