// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/crm_schema.h"

#include <catch2/catch.hpp>
#include <utility>

namespace orgsync::testing {

FieldDef Field(std::string name, FieldType type, uint32_t length) {
  FieldDef f;
  f.name = std::move(name);
  f.type = type;
  f.length = length;
  return f;
}

FieldDef Lookup(std::string name, std::string target, FieldType type) {
  FieldDef f = Field(std::move(name), type);
  f.lookup_target = std::move(target);
  return f;
}

FieldDef Picklist(std::string name, std::vector<std::string> values) {
  FieldDef f = Field(std::move(name), FieldType::kPicklist);
  f.picklist_values = std::move(values);
  return f;
}

std::vector<FieldDef> AuditFields() {
  return {Field("CreatedBy", FieldType::kUserReference),
          Field("CreatedDate", FieldType::kDateTime),
          Field("LastModifiedBy", FieldType::kUserReference),
          Field("LastModifiedDate", FieldType::kDateTime)};
}

ObjectDef Object(std::string name, std::vector<FieldDef> fields,
                 bool publishable) {
  ObjectDef def;
  def.name = std::move(name);
  def.publishable = publishable;
  def.fields = std::move(fields);
  for (FieldDef& audit : AuditFields()) def.fields.push_back(std::move(audit));
  return def;
}

// A small CRM: Account <- Contact <- Case <- CaseComment, Attachment.
void FillSchema(Schema* schema) {
  FieldDef revenue = Field("Revenue", FieldType::kCurrency);
  revenue.precision = 18;
  revenue.scale = 2;
  REQUIRE(schema->AddObject(Object(
      "Account",
      {Field("Name", FieldType::kText, 255), Field("Phone", FieldType::kPhone),
       Picklist("Industry", {"Agriculture", "Banking", "Chemicals"}),
       Lookup("ParentId", "Account"), Field("OwnerId", FieldType::kUserReference),
       revenue, Field("AccountNumber", FieldType::kAutoNumber),
       Field("Notes", FieldType::kRichTextArea),
       Field("Location", FieldType::kGeolocation),
       Field("Score", FieldType::kFormula)})).ok());
  REQUIRE(schema->AddObject(Object(
      "Contact",
      {Field("LastName", FieldType::kText, 80),
       Field("Email", FieldType::kEmail), Lookup("AccountId", "Account"),
       Lookup("ReportsToId", "Contact"), Field("Birthdate", FieldType::kDate),
       Field("Ssn", FieldType::kEncrypted)})).ok());
  REQUIRE(schema->AddObject(Object(
      "Case",
      {Field("CaseNumber", FieldType::kAutoNumber),
       Field("Subject", FieldType::kText, 255), Lookup("AccountId", "Account"),
       Lookup("ContactId", "Contact"),
       Picklist("Status", {"New", "Working", "Closed"}),
       Field("Description", FieldType::kLongText, 32000),
       Field("CommentCount", FieldType::kRollupSummary)})).ok());
  ObjectDef comment = Object(
      "CaseComment", {Lookup("ParentId", "Case", FieldType::kMasterDetail),
                      Field("Body", FieldType::kLongText, 4000)});
  comment.child_only = true;
  REQUIRE(schema->AddObject(comment).ok());
  ObjectDef attachment =
      Object("Attachment", {Lookup("ParentId", "Case"),
                            Field("Name", FieldType::kText, 255),
                            Field("Body", FieldType::kBinary)});
  attachment.is_file = true;
  REQUIRE(schema->AddObject(attachment).ok());
  REQUIRE(schema->AddObject(Object(
      "SetupAuditTrail", {Field("Action", FieldType::kText, 255)},
      /*publishable=*/false)).ok());
}

}  // namespace orgsync::testing
