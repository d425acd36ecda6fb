#ifndef TRUSTLINK_NTL_CONFIG_DOCUMENT_H_
#define TRUSTLINK_NTL_CONFIG_DOCUMENT_H_

// ConfigDocument: the block syntax of Chrystoki.conf and trustlink.conf,
//
//   # a comment
//   Section Name = {
//      Key = value;          # values run to the ';'; "quoted values" may hold
//      ';' or '#'
//   }
//
// parsed losslessly: Serialize() of an unmodified document returns the input
// byte for byte, and an edit changes only the bytes of the entries it touches.
// Comments, blank lines, order, spacing and keys trustlink does not know all
// survive a write. Sections do not nest. Errors carry TL_E_CONFIG_INVALID and
// say "<file>:<line>:<column>: <what>; <fix>".

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace trustlink::ntl {

// ConfigEntry is one `Key = value;`.
struct ConfigEntry {
  std::string key;
  std::string value;  // Unquoted.
  int line = 0;  // Where the key starts (1-based), for messages; 0 if added.
  int column = 0;
  // Lossless layout: `leading` is the text before the key (newlines, indent,
  // comments); `raw` is the entry's own text from the key to the ';'.
  // value_begin/value_end locate the value in raw, key_end the key; `dirty`
  // means raw must be rebuilt from key and value.
  std::string leading;
  std::string raw;
  size_t key_end = 0;
  size_t value_begin = 0;
  size_t value_end = 0;
  bool dirty = false;
};

// ConfigSection is one `Name = { ... }` block.
struct ConfigSection {
  std::string name;
  int line = 0;
  int column = 0;
  std::string leading;  // Text before the name.
  std::string header;   // From the name through '{'.
  std::vector<ConfigEntry> entries;
  std::string closing;  // Text after the last entry through '}'.
};

// ConfigDocument is a whole file.
// Thread safety: a value type; not safe for concurrent mutation.
class ConfigDocument {
 public:
  // Parse parses `text`; `file_name` is used in error messages.
  static absl::StatusOr<ConfigDocument> Parse(absl::string_view text,
                                              absl::string_view file_name);

  // Serialize returns the document's text.
  std::string Serialize() const;

  // FindSection returns the section called `name` (exact, after trimming), or
  // nullptr.
  const ConfigSection* FindSection(absl::string_view name) const;
  ConfigSection* FindSection(absl::string_view name);
  // AddSection appends an empty section (or returns the existing one).
  ConfigSection* AddSection(absl::string_view name);

  // Get returns the value of `key` in `section` (the last one if repeated).
  absl::optional<std::string> Get(absl::string_view section,
                                  absl::string_view key) const;
  // Set changes the value of `key` in `section` (its last occurrence), or
  // appends the entry after the section's last entry, with the same indent. The
  // section is made if missing.
  void Set(absl::string_view section, absl::string_view key,
           absl::string_view value);
  // Remove deletes every `key` entry in `section`; returns whether there was
  // one.
  bool Remove(absl::string_view section, absl::string_view key);
  // Rename changes the key of `section`/`from` to `to`, keeping its place and
  // value.
  bool Rename(absl::string_view section, absl::string_view from,
              absl::string_view to);

  const std::vector<ConfigSection>& sections() const { return sections_; }
  const std::string& file_name() const { return file_name_; }

  // IsValidKey reports whether `key` can be written as a key and read back:
  // one or more letters, digits, '_', '.' or '-'. Text from elsewhere (an INI
  // file) is checked with it before it becomes a key.
  static bool IsValidKey(absl::string_view key);

  // QuoteIfNeeded returns `value` as it must be written: quoted if it holds
  // ';', '#', '"',
  // '{', '}' or leading or trailing blanks.
  static std::string QuoteIfNeeded(absl::string_view value);

 private:
  std::string file_name_;
  std::vector<ConfigSection> sections_;
  std::string trailer_;  // Text after the last section.
};

// ConfigEntryError is the error for a bad value of `e` in `doc`:
// TL_E_CONFIG_INVALID with "<file>:<line>:<column>: <key> = <value>: <what>"
// (without the position for an entry added in memory). `what` says what is
// wrong and how to fix it.
absl::Status ConfigEntryError(const ConfigDocument& doc, const ConfigEntry& e,
                              absl::string_view what);

// SplitIndexedKey splits a numbered key such as "ServerName03" (prefix
// "ServerName") or "VirtualToken03Label" (prefix "VirtualToken", suffix
// "Label") and sets *index to its digits ("03"). False if `key` is not of
// that form.
bool SplitIndexedKey(absl::string_view key, absl::string_view prefix,
                     absl::string_view suffix, std::string* index);

// ParseConfigFlag reads a 0/1 flag; false for anything else.
bool ParseConfigFlag(absl::string_view value, bool* out);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_CONFIG_DOCUMENT_H_
