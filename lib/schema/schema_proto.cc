// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "schema/schema_proto.h"

#include <string>
#include <utility>

#include "fmt/format.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

// Fills everything but the picklist values, which only the lossless form
// carries.
absl::StatusOr<ObjectDef> BaseFromObjectSchema(
    const proto::ObjectSchema& message) {
  ObjectDef def;
  def.name = message.name();
  def.publishable = message.publishable();
  def.child_only = message.child_only();
  def.is_file = message.is_file();
  def.fields.reserve(message.fields_size());
  for (const proto::FieldSchema& f : message.fields()) {
    absl::StatusOr<FieldType> type = FieldTypeFromNumber(f.type());
    if (!type.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("object {}: field {}: {}", message.name(), f.name(),
                      std::string(type.status().message())));
    }
    FieldDef field;
    field.name = f.name();
    field.type = *type;
    field.required = f.required();
    field.length = f.length();
    field.precision = f.precision();
    field.scale = f.scale();
    field.lookup_target = f.lookup_target();
    def.fields.push_back(std::move(field));
  }
  return def;
}

}  // namespace

proto::FieldSchema ToFieldSchema(const FieldDef& field) {
  proto::FieldSchema message;
  message.set_name(field.name);
  message.set_type(static_cast<proto::FieldType>(field.type));
  message.set_required(field.required);
  message.set_length(field.length);
  message.set_precision(field.precision);
  message.set_scale(field.scale);
  message.set_lookup_target(field.lookup_target);
  return message;
}

proto::ObjectSchema ToObjectSchema(const ObjectDef& def) {
  proto::ObjectSchema message;
  message.set_name(def.name);
  message.set_publishable(def.publishable);
  message.set_child_only(def.child_only);
  message.set_is_file(def.is_file);
  for (const FieldDef& field : def.fields) {
    *message.add_fields() = ToFieldSchema(field);
  }
  return message;
}

absl::StatusOr<ObjectDef> FromObjectSchema(const proto::ObjectSchema& message) {
  ORGSYNC_ASSIGN_OR_RETURN(ObjectDef def, BaseFromObjectSchema(message));
  ORGSYNC_RETURN_IF_ERROR(ValidateObjectDef(def));
  return def;
}

proto::ObjectDefinition ToObjectDefinition(const ObjectDef& def) {
  proto::ObjectDefinition message;
  *message.mutable_schema() = ToObjectSchema(def);
  for (const FieldDef& field : def.fields) {
    if (field.picklist_values.empty()) continue;
    proto::FieldPicklist* picklist = message.add_picklists();
    picklist->set_field(field.name);
    for (const std::string& value : field.picklist_values) {
      picklist->add_values(value);
    }
  }
  return message;
}

absl::StatusOr<ObjectDef> FromObjectDefinition(
    const proto::ObjectDefinition& message) {
  ORGSYNC_ASSIGN_OR_RETURN(ObjectDef def, BaseFromObjectSchema(message.schema()));
  for (const proto::FieldPicklist& picklist : message.picklists()) {
    FieldDef* target = nullptr;
    for (FieldDef& field : def.fields) {
      if (field.name == picklist.field()) target = &field;
    }
    if (target == nullptr || !target->picklist_values.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "object {}: picklist values for unknown or repeated field '{}'",
          def.name, picklist.field()));
    }
    target->picklist_values.assign(picklist.values().begin(),
                                   picklist.values().end());
  }
  ORGSYNC_RETURN_IF_ERROR(ValidateObjectDef(def));
  return def;
}

}  // namespace orgsync::internal
