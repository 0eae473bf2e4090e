// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/text_table.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace orgsync::admin {
namespace {

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

size_t CodePoints(const std::string& text) {
  return static_cast<size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

// One line, at most `max_width` code points.
std::string ToCell(std::string text, size_t max_width) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (CodePoints(text) <= max_width) return text;
  // Keep max_width - 3 code points, then "...".
  size_t kept = 0;
  size_t end = 0;
  while (end < text.size()) {
    size_t next = end + 1;
    while (next < text.size() && IsContinuationByte(text[next])) ++next;
    if (kept + 1 > max_width - 3) break;
    ++kept;
    end = next;
  }
  text.resize(end);
  return text + "...";
}

}  // namespace

TextTable::TextTable(std::vector<std::string> headers, size_t max_cell_width)
    : headers_(std::move(headers)),
      max_cell_width_(std::max<size_t>(max_cell_width, 4)) {}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) {
    cell = ToCell(std::move(cell), max_cell_width_);
  }
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t column = 0; column < headers_.size(); ++column) {
    widths[column] = CodePoints(headers_[column]);
    for (const std::vector<std::string>& row : rows_) {
      widths[column] = std::max(widths[column], CodePoints(row[column]));
    }
  }
  std::string out;
  const auto append_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t column = 0; column < cells.size(); ++column) {
      if (column > 0) line += "  ";
      line += cells[column];
      line.append(widths[column] - CodePoints(cells[column]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append_line(headers_);
  for (const std::vector<std::string>& row : rows_) append_line(row);
  return out;
}

}  // namespace orgsync::admin
