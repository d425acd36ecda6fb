#include "ntl/config_document.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

bool IsKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '.' || c == '-';
}

// Parser walks the text once, tracking line and column for messages.
class Parser {
 public:
  Parser(absl::string_view text, absl::string_view file)
      : text_(text), file_(file) {}

  absl::Status Fail(int line, int column, absl::string_view what) const {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_CONFIG_INVALID,
                 absl::StrCat(file_, ":", line, ":", column, ": ", what));
  }
  absl::Status FailHere(absl::string_view what) const {
    return Fail(line_, col_, what);
  }

  bool Eof() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
  // SkipTrivia skips blanks, newlines and '#' comments.
  void SkipTrivia() {
    while (!Eof()) {
      char c = Peek();
      if (c == '#') {
        while (!Eof() && Peek() != '\n') Advance();
      } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
        Advance();
      } else {
        return;
      }
    }
  }
  // SkipBlanks skips white space within a line: every character the value trim
  // below drops (\v and \f too), so a value's tail that is blank unquoted stays
  // blank when Set quotes the value.
  void SkipBlanks() {
    while (!Eof() && Peek() != '\n' &&
           absl::ascii_isspace(static_cast<unsigned char>(Peek()))) {
      Advance();
    }
  }

  absl::Status ParseEntry(ConfigEntry* e, size_t start,
                          const std::string& section) {
    e->leading = std::string(text_.substr(start, pos_ - start));
    e->line = line_;
    e->column = col_;
    size_t key_begin = pos_;
    while (!Eof() && IsKeyChar(Peek())) Advance();
    if (pos_ == key_begin) {
      if (Peek() == '{') {
        return FailHere(
            absl::StrCat("unexpected '{' in section '", section,
                         "'; sections do not nest (is a '}' missing above?)"));
      }
      return FailHere(absl::StrCat("expected a key or '}' in section '",
                                   section, "', found '",
                                   std::string(1, Peek()), "'"));
    }
    e->key = std::string(text_.substr(key_begin, pos_ - key_begin));
    size_t key_end = pos_;
    SkipBlanks();
    if (Eof() || Peek() != '=') {
      if (!Eof() && Peek() == ' ') SkipBlanks();
      if (!Eof() && IsKeyChar(Peek())) {
        return FailHere(absl::StrCat("expected '=' after key '", e->key,
                                     "'; keys may not contain spaces"));
      }
      return FailHere(absl::StrCat("expected '=' after key '", e->key, "'"));
    }
    Advance();
    SkipBlanks();
    size_t value_begin = pos_;
    size_t value_end;
    if (!Eof() && Peek() == '"') {
      int qline = line_, qcol = col_;
      Advance();
      std::string value;
      for (;;) {
        if (Eof() || Peek() == '\n') {
          return Fail(qline, qcol,
                      absl::StrCat("the quoted value of '", e->key,
                                   "' has no closing '\"'"));
        }
        char c = Peek();
        Advance();
        if (c == '"') break;
        if (c == '\\' && !Eof() && (Peek() == '"' || Peek() == '\\')) {
          c = Peek();
          Advance();
        }
        value.push_back(c);
      }
      value_end = pos_;
      e->value = std::move(value);
      SkipBlanks();
      if (Eof() || Peek() != ';') {
        return FailHere(
            absl::StrCat("expected ';' after the value of '", e->key, "'"));
      }
    } else {
      while (!Eof() && Peek() != ';' && Peek() != '\n' && Peek() != '{' &&
             Peek() != '}') {
        Advance();
      }
      if (Eof() || Peek() != ';') {
        return FailHere(absl::StrCat("expected ';' after the value of '",
                                     e->key, "'; every entry ends with ';'"));
      }
      value_end = pos_;
      while (value_end > value_begin &&
             absl::ascii_isspace(
                 static_cast<unsigned char>(text_[value_end - 1]))) {
        --value_end;
      }
      e->value =
          std::string(text_.substr(value_begin, value_end - value_begin));
    }
    Advance();  // ';'
    e->raw = std::string(text_.substr(key_begin, pos_ - key_begin));
    e->key_end = key_end - key_begin;
    e->value_begin = value_begin - key_begin;
    e->value_end = value_end - key_begin;
    return absl::OkStatus();
  }

  absl::Status ParseSection(ConfigSection* s, size_t start) {
    s->leading = std::string(text_.substr(start, pos_ - start));
    s->line = line_;
    s->column = col_;
    size_t name_begin = pos_;
    while (!Eof() && Peek() != '=' && Peek() != '\n' && Peek() != '{' &&
           Peek() != '}' && Peek() != ';' && Peek() != '#') {
      Advance();
    }
    std::string name(absl::StripAsciiWhitespace(
        text_.substr(name_begin, pos_ - name_begin)));
    if (Eof() || Peek() != '=') {
      if (name.empty()) return FailHere("expected a section name");
      return FailHere(
          absl::StrCat("expected '=' after section name '", name,
                       "' (a section looks like: Name = { Key = value; })"));
    }
    if (name.empty()) return FailHere("expected a section name before '='");
    s->name = name;
    Advance();
    SkipTrivia();
    if (Eof() || Peek() != '{') {
      return FailHere(absl::StrCat("expected '{' after '", name,
                                   " ='; entries belong inside a section"));
    }
    Advance();
    s->header = std::string(text_.substr(name_begin, pos_ - name_begin));
    for (;;) {
      size_t entry_start = pos_;
      SkipTrivia();
      if (Eof()) {
        return Fail(s->line, s->column,
                    absl::StrCat("section '", name, "' has no closing '}'"));
      }
      if (Peek() == '}') {
        Advance();
        s->closing = std::string(text_.substr(entry_start, pos_ - entry_start));
        return absl::OkStatus();
      }
      ConfigEntry e;
      absl::Status status = ParseEntry(&e, entry_start, name);
      if (!status.ok()) return status;
      s->entries.push_back(std::move(e));
    }
  }

  absl::Status Run(std::vector<ConfigSection>* sections, std::string* trailer) {
    for (;;) {
      size_t start = pos_;
      SkipTrivia();
      if (Eof()) {
        *trailer = std::string(text_.substr(start));
        return absl::OkStatus();
      }
      if (Peek() == '}' || Peek() == '{' || Peek() == ';') {
        return FailHere(absl::StrCat("unexpected '", std::string(1, Peek()),
                                     "' outside a section"));
      }
      ConfigSection s;
      absl::Status status = ParseSection(&s, start);
      if (!status.ok()) return status;
      sections->push_back(std::move(s));
    }
  }

 private:
  absl::string_view text_;
  std::string file_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

// Indent returns the blanks at the end of `leading` (the indent of the entry it
// precedes).
std::string Indent(absl::string_view leading) {
  size_t nl = leading.rfind('\n');
  absl::string_view last =
      nl == absl::string_view::npos ? leading : leading.substr(nl + 1);
  for (char c : last) {
    if (c != ' ' && c != '\t') return "   ";
  }
  return last.empty() ? "   " : std::string(last);
}

}  // namespace

absl::StatusOr<ConfigDocument> ConfigDocument::Parse(
    absl::string_view text, absl::string_view file_name) {
  ConfigDocument doc;
  doc.file_name_ = std::string(file_name);
  Parser parser(text, file_name);
  absl::Status status = parser.Run(&doc.sections_, &doc.trailer_);
  if (!status.ok()) return status;
  return doc;
}

bool ConfigDocument::IsValidKey(absl::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), IsKeyChar);
}

std::string ConfigDocument::Serialize() const {
  std::string out;
  for (const ConfigSection& s : sections_) {
    absl::StrAppend(&out, s.leading, s.header);
    for (const ConfigEntry& e : s.entries)
      absl::StrAppend(&out, e.leading, e.raw);
    out += s.closing;
  }
  out += trailer_;
  return out;
}

const ConfigSection* ConfigDocument::FindSection(absl::string_view name) const {
  for (const ConfigSection& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ConfigSection* ConfigDocument::FindSection(absl::string_view name) {
  for (ConfigSection& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ConfigSection* ConfigDocument::AddSection(absl::string_view name) {
  if (ConfigSection* s = FindSection(name)) return s;
  ConfigSection s;
  s.name = std::string(name);
  s.leading = trailer_;
  if (!s.leading.empty() && s.leading.back() != '\n') s.leading += '\n';
  if (!sections_.empty()) s.leading += '\n';
  s.header = absl::StrCat(name, " = {");
  s.closing = "\n}";
  trailer_ = "\n";
  sections_.push_back(std::move(s));
  return &sections_.back();
}

absl::optional<std::string> ConfigDocument::Get(absl::string_view section,
                                                absl::string_view key) const {
  const ConfigSection* s = FindSection(section);
  if (s == nullptr) return absl::nullopt;
  for (auto it = s->entries.rbegin(); it != s->entries.rend(); ++it) {
    if (it->key == key) return it->value;
  }
  return absl::nullopt;
}

std::string ConfigDocument::QuoteIfNeeded(absl::string_view value) {
  bool quote =
      !value.empty() &&
      (absl::ascii_isspace(static_cast<unsigned char>(value.front())) ||
       absl::ascii_isspace(static_cast<unsigned char>(value.back())));
  for (char c : value) {
    if (c == ';' || c == '#' || c == '"' || c == '{' || c == '}' || c == '\\')
      quote = true;
  }
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

void ConfigDocument::Set(absl::string_view section, absl::string_view key,
                         absl::string_view value) {
  ConfigSection* s = AddSection(section);
  for (auto it = s->entries.rbegin(); it != s->entries.rend(); ++it) {
    if (it->key != key) continue;
    if (it->value == value) return;
    std::string quoted = QuoteIfNeeded(value);
    it->raw = absl::StrCat(it->raw.substr(0, it->value_begin), quoted,
                           it->raw.substr(it->value_end));
    it->value_end = it->value_begin + quoted.size();
    it->value = std::string(value);
    it->dirty = true;
    return;
  }
  ConfigEntry e;
  e.key = std::string(key);
  e.value = std::string(value);
  e.leading = absl::StrCat(
      "\n", s->entries.empty() ? "   " : Indent(s->entries.back().leading));
  std::string quoted = QuoteIfNeeded(value);
  e.raw = absl::StrCat(key, " = ", quoted, ";");
  e.key_end = key.size();
  e.value_begin = key.size() + 3;
  e.value_end = e.value_begin + quoted.size();
  e.dirty = true;
  s->entries.push_back(std::move(e));
}

bool ConfigDocument::Remove(absl::string_view section, absl::string_view key) {
  ConfigSection* s = FindSection(section);
  if (s == nullptr) return false;
  bool removed = false;
  for (size_t i = 0; i < s->entries.size();) {
    if (s->entries[i].key != key) {
      ++i;
      continue;
    }
    // The first line of `leading` is the rest of the previous entry's line (its
    // trailing comment, say): keep it. The lines after it belong to the removed
    // entry.
    const std::string& leading = s->entries[i].leading;
    size_t nl = leading.find('\n');
    std::string keep = nl == std::string::npos ? "" : leading.substr(0, nl);
    std::string& next_leading =
        i + 1 < s->entries.size() ? s->entries[i + 1].leading : s->closing;
    next_leading = keep + next_leading;
    s->entries.erase(s->entries.begin() + static_cast<std::ptrdiff_t>(i));
    removed = true;
  }
  return removed;
}

bool ConfigDocument::Rename(absl::string_view section, absl::string_view from,
                            absl::string_view to) {
  ConfigSection* s = FindSection(section);
  if (s == nullptr) return false;
  for (ConfigEntry& e : s->entries) {
    if (e.key != from) continue;
    std::string rest = e.raw.substr(e.key_end);
    size_t shift_from = e.key_end;
    e.raw = absl::StrCat(to, rest);
    e.key_end = to.size();
    e.value_begin = e.value_begin - shift_from + to.size();
    e.value_end = e.value_end - shift_from + to.size();
    e.key = std::string(to);
    e.dirty = true;
    return true;
  }
  return false;
}

absl::Status ConfigEntryError(const ConfigDocument& doc, const ConfigEntry& e,
                              absl::string_view what) {
  if (e.line == 0) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_CONFIG_INVALID,
                 absl::StrCat(doc.file_name(), ": ", e.key, ": ", what));
  }
  return Error(absl::StatusCode::kInvalidArgument, TL_E_CONFIG_INVALID,
               absl::StrCat(doc.file_name(), ":", e.line, ":", e.column, ": ",
                            e.key, " = ", e.value, ": ", what));
}

bool SplitIndexedKey(absl::string_view key, absl::string_view prefix,
                     absl::string_view suffix, std::string* index) {
  if (key.size() <= prefix.size() + suffix.size() ||
      key.substr(0, prefix.size()) != prefix ||
      key.substr(key.size() - suffix.size()) != suffix) {
    return false;
  }
  absl::string_view digits =
      key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  *index = std::string(digits);
  return true;
}

bool ParseConfigFlag(absl::string_view value, bool* out) {
  if (value != "0" && value != "1") return false;
  *out = value == "1";
  return true;
}

}  // namespace trustlink::ntl
