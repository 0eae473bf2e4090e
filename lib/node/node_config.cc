// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/node_config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "fmt/core.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "node/node_state.h"
#include "orgsync/status.h"

namespace orgsync::node {
namespace {

constexpr int kFirstFieldType = static_cast<int>(FieldType::kText);
constexpr int kLastFieldType = static_cast<int>(FieldType::kGeolocation);

// Collects the parser's complaints, so that the error names file and line
// instead of going to stderr.
class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; editors count from 1.
    errors_.push_back(fmt::format("line {}, column {}: {}", line + 1,
                                  column + 1, message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  std::string Text() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read '{}'", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(fmt::format("error reading '{}'", path));
  }
  return text.str();
}

absl::Status ParseText(const std::string& text, const std::string& path,
                       google::protobuf::Message* message) {
  google::protobuf::TextFormat::Parser parser;
  ParseErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, message)) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a valid {} in protobuf text format: {}", path,
                    message->GetDescriptor()->name(), errors.Text()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ObjectDef> ObjectFromSpec(const ObjectSpec& spec,
                                         const std::string& source) {
  ObjectDef def;
  def.name = spec.name();
  def.publishable = spec.publishable();
  def.child_only = spec.child_only();
  def.is_file = spec.is_file();
  for (const FieldSpec& field : spec.field()) {
    absl::StatusOr<FieldType> type = FieldTypeFromName(field.type());
    if (!type.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: object '{}', field '{}': {}", source, spec.name(),
                      field.name(), std::string(type.status().message())));
    }
    def.fields.push_back(FieldDef{
        .name = field.name(),
        .type = *type,
        .required = field.required(),
        .length = field.length(),
        .precision = field.precision(),
        .scale = field.scale(),
        .lookup_target = field.lookup_target(),
        .picklist_values = {field.picklist_values().begin(),
                            field.picklist_values().end()}});
  }
  return def;
}

}  // namespace

absl::StatusOr<FieldType> FieldTypeFromName(const std::string& name) {
  std::vector<std::string> known;
  for (int number = kFirstFieldType; number <= kLastFieldType; ++number) {
    ORGSYNC_ASSIGN_OR_RETURN(FieldType type, FieldTypeFromNumber(number));
    if (FieldTypeName(type) == name) return type;
    known.push_back(fmt::format("\"{}\"", FieldTypeName(type)));
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown field type \"{}\"; the types are {}", name,
                  absl::StrJoin(known, ", ")));
}

absl::Status FillSchema(const SchemaSpec& spec, const std::string& source,
                        Schema* schema) {
  for (const ObjectSpec& object : spec.object()) {
    ORGSYNC_ASSIGN_OR_RETURN(ObjectDef def, ObjectFromSpec(object, source));
    absl::Status added = schema->AddObject(std::move(def));
    if (!added.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: {}", source, std::string(added.message())));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SchemaSpec> ReadSchemaFile(const std::string& path) {
  ORGSYNC_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  SchemaSpec spec;
  ORGSYNC_RETURN_IF_ERROR(ParseText(text, path, &spec));
  if (spec.object().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' defines no object", path));
  }
  Schema check;
  ORGSYNC_RETURN_IF_ERROR(FillSchema(spec, path, &check));
  return spec;
}

absl::StatusOr<NodeConfig> ReadNodeConfig(const std::string& state_dir) {
  const std::string path = ConfigPath(state_dir);
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(fmt::format(
        "'{}' is missing: is '{}' a state folder made by `orgsync-node "
        "init`?",
        path, state_dir));
  }
  ORGSYNC_RETURN_IF_ERROR(text.status());
  NodeConfig config;
  ORGSYNC_RETURN_IF_ERROR(ParseText(*text, path, &config));
  if (config.org_id().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' names no org_id", path));
  }
  return config;
}

absl::Status WriteNewNodeConfig(const std::string& state_dir,
                                const NodeConfig& config) {
  const std::string path = ConfigPath(state_dir);
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    return absl::AlreadyExistsError(
        fmt::format("'{}' exists already: the state folder is initialized",
                    path));
  }
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(config, &text)) {
    return absl::InternalError("cannot print the node config as text");
  }
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << "# orgsync-node config, written by `orgsync-node init`.\n" << text;
    out.flush();
    if (!out) {
      return absl::UnavailableError(
          fmt::format("cannot write '{}'", temporary));
    }
  }
  std::filesystem::rename(temporary, path, error);
  if (error) {
    return absl::UnavailableError(fmt::format(
        "cannot rename '{}' to '{}': {}", temporary, path, error.message()));
  }
  return absl::OkStatus();
}

}  // namespace orgsync::node
