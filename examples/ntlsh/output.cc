#include "examples/ntlsh/output.h"

#include <cstdio>

namespace ntlsh {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

Json Json::Str(const std::string& s) {
  Json j;
  j.text_ = Quote(s);
  return j;
}
Json Json::Num(long long n) {
  Json j;
  j.text_ = std::to_string(n);
  return j;
}
Json Json::Bool(bool b) {
  Json j;
  j.text_ = b ? "true" : "false";
  return j;
}
Json Json::Arr() {
  Json j;
  j.array_ = true;
  return j;
}
Json Json::Obj() {
  Json j;
  j.object_ = true;
  return j;
}
Json& Json::Add(Json v) {
  items_.push_back(v.Dump());
  return *this;
}
Json& Json::Set(const std::string& key, Json v) {
  items_.push_back(Quote(key) + ":" + v.Dump());
  return *this;
}
std::string Json::Dump() const {
  if (!object_ && !array_) return text_;
  std::string out = object_ ? "{" : "[";
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out += ",";
    out += items_[i];
  }
  return out + (object_ ? "}" : "]");
}

void Output::Field(const std::string& key, const std::string& json_key,
                   const std::string& value) {
  lines_.emplace_back(key, value);
  data_.Set(json_key, Json::Str(value));
}

void Output::FieldNum(const std::string& key, const std::string& json_key,
                      long long value) {
  lines_.emplace_back(key, std::to_string(value));
  data_.Set(json_key, Json::Num(value));
}

void Output::HumanTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      if (row[c].size() > width[c]) width[c] = row[c].size();
    }
  }
  auto format = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < headers.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      line += cell;
      if (c + 1 < headers.size())
        line += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line;
  };
  Line(format(headers));
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  Line(format(rule));
  for (const auto& row : rows) Line(format(row));
  if (rows.empty()) Line("(none)");
}

void Output::Table(const std::string& json_key,
                   const std::vector<std::string>& headers,
                   const std::vector<std::string>& json_names,
                   const std::vector<std::vector<std::string>>& rows) {
  HumanTable(headers, rows);
  Json array = Json::Arr();
  for (const auto& row : rows) {
    Json obj = Json::Obj();
    for (size_t c = 0; c < row.size() && c < json_names.size(); ++c) {
      obj.Set(json_names[c], Json::Str(row[c]));
    }
    array.Add(obj);
  }
  data_.Set(json_key, array);
}

void Output::PrintHuman() const {
  for (const std::string& w : warnings_)
    std::fprintf(stderr, "Warning: %s\n", w.c_str());
  size_t width = 0;
  for (const auto& [key, value] : lines_)
    width = key.size() > width ? key.size() : width;
  for (const auto& [key, value] : lines_) {
    if (key.empty()) {
      std::printf("%s\n", value.c_str());
    } else {
      std::printf("%-*s : %s\n", static_cast<int>(width), key.c_str(),
                  value.c_str());
    }
  }
}

Json Output::JsonObject() const {
  Json out = data_;
  Json warnings = Json::Arr();
  for (const std::string& w : warnings_) warnings.Add(Json::Str(w));
  out.Set("warnings", warnings);
  return out;
}

}  // namespace ntlsh
