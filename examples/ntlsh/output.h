#ifndef TRUSTLINK_EXAMPLES_NTLSH_OUTPUT_H_
#define TRUSTLINK_EXAMPLES_NTLSH_OUTPUT_H_

// What ntlsh prints: aligned tables and "Key : value" blocks for people, or one
// JSON object per command for scripts (--json). A command fills an Output; main
// prints it once, then the "Command Result" line (people) or the JSON object
// (scripts).

#include <string>
#include <utility>
#include <vector>

namespace ntlsh {

// JsonValue is a tiny JSON builder: enough for strings, numbers, booleans,
// arrays, objects.
class Json {
 public:
  static Json Str(const std::string& s);
  static Json Num(long long n);
  static Json Bool(bool b);
  static Json Arr();
  static Json Obj();
  Json& Add(Json v);                          // to an array
  Json& Set(const std::string& key, Json v);  // to an object
  std::string Dump() const;

 private:
  std::string text_;
  bool object_ = false;
  bool array_ = false;
  std::vector<std::string> items_;
};

class Output {
 public:
  // Line adds a free text line (people only).
  void Line(const std::string& text) { lines_.emplace_back("", text); }
  // Field adds "Key : value" (people) and key: value (JSON data).
  void Field(const std::string& key, const std::string& json_key,
             const std::string& value);
  void FieldNum(const std::string& key, const std::string& json_key,
                long long value);
  // Table adds an aligned table; `json_key` names the array of objects in JSON.
  void Table(const std::string& json_key,
             const std::vector<std::string>& headers,
             const std::vector<std::string>& json_names,
             const std::vector<std::vector<std::string>>& rows);
  // HumanTable adds an aligned table for people only; the caller adds the
  // JSON form with Data (for typed values: numbers, booleans).
  void HumanTable(const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows);
  void Warning(const std::string& text) { warnings_.push_back(text); }
  void Data(const std::string& key, Json value) {
    data_.Set(key, std::move(value));
  }

  // Print writes the human form to stdout (and warnings to stderr).
  void PrintHuman() const;
  // JsonObject returns the data as a JSON object, with "warnings".
  Json JsonObject() const;

 private:
  // A line is free text (empty key) or a "Key : value" field; fields are
  // aligned on print.
  std::vector<std::pair<std::string, std::string>> lines_;
  std::vector<std::string> warnings_;
  Json data_ = Json::Obj();
};

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_OUTPUT_H_
