// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A small CRM-like schema for tests, and terse builders of field and object
// definitions. FillCrmSchema adds Account <- Contact <- Case <- CaseComment,
// Attachment (a file), each with the four audit fields, fields of every
// never-publishable kind (R12), and one object the host does not mark
// publishable (SetupAuditTrail, R10).

#ifndef ORGSYNC_TESTS_TESTING_CRM_SCHEMA_H_
#define ORGSYNC_TESTS_TESTING_CRM_SCHEMA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "orgsync/schema.h"

namespace orgsync::testing {

FieldDef Field(std::string name, FieldType type, uint32_t length = 0);
FieldDef Lookup(std::string name, std::string target,
                FieldType type = FieldType::kLookup);
FieldDef Picklist(std::string name, std::vector<std::string> values);
// CreatedBy, CreatedDate, LastModifiedBy, LastModifiedDate.
std::vector<FieldDef> AuditFields();
// An object with `fields` and the audit fields.
ObjectDef Object(std::string name, std::vector<FieldDef> fields,
                 bool publishable = true);
// Adds the CRM objects to `schema` (Catch2 REQUIREs that it works).
void FillSchema(Schema* schema);

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_CRM_SCHEMA_H_
