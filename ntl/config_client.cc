#include "ntl/config_client.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ntl/config_ha.h"
#include "ntl/names.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

constexpr absl::string_view kServerName = "ServerName";
constexpr absl::string_view kServerPort = "ServerPort";
constexpr absl::string_view kServerHtl = "ServerHtl";

constexpr absl::string_view kDefaultText =
    "# trustlink client configuration. Edit with care: trustlink keeps "
    "comments, "
    "order and\n"
    "# keys it does not know. Syntax: Section = { Key = value; }. Relative "
    "paths "
    "are under the\n"
    "# client root. See docs/client-enrolment.md.\n"
    "Trustlink Client = {\n"
    "   ServerCAFile = cert/server/CAFile.pem;\n"
    "   TCPKeepAlive = 1;\n"
    "   ReceiveTimeout = 20000;\n"
    "   ConnectTimeout = 10000;\n"
    "}\n";

bool IsTimeoutKey(absl::string_view key) {
  return absl::StrContains(absl::AsciiStrToLower(key), "timeout");
}

int IntOr(const std::string& text, int fallback) {
  int v = 0;
  return absl::SimpleAtoi(text, &v) ? v : fallback;
}

}  // namespace

ClientConfig ClientConfig::Default() {
  return ClientConfig(*ConfigDocument::Parse(kDefaultText, kConfigFileName));
}

absl::StatusOr<ClientConfig> ClientConfig::Parse(absl::string_view text,
                                                 absl::string_view file_name) {
  absl::StatusOr<ConfigDocument> doc = ConfigDocument::Parse(text, file_name);
  if (!doc.ok()) return doc.status();
  ClientConfig config(*std::move(doc));
  absl::Status valid = config.Validate();
  if (!valid.ok()) return valid;
  return config;
}

absl::Status ClientConfig::Validate() const {
  const ConfigSection* s = doc_.FindSection(kClientSection);
  if (s == nullptr) return absl::OkStatus();
  std::set<std::string> names;
  std::set<std::string> name_indexes;
  for (const ConfigEntry& e : s->entries) {
    std::string index;
    if (SplitIndexedKey(e.key, kServerName, "", &index)) {
      absl::StatusOr<CanonicalName> name =
          CanonicalizeNameWithHost(e.value, "");
      if (!name.ok()) return ConfigEntryError(doc_, e, name.status().message());
      if (!names.insert(name->canonical).second) {
        return ConfigEntryError(
            doc_, e, "this server is listed twice; remove one entry");
      }
      name_indexes.insert(index);
    }
  }
  for (const ConfigEntry& e : s->entries) {
    std::string index;
    bool flag = false;
    int v = 0;
    if (SplitIndexedKey(e.key, kServerPort, "", &index)) {
      if (!absl::SimpleAtoi(e.value, &v) || v < 1 || v > 65535) {
        return ConfigEntryError(
            doc_, e, "a port is a number from 1 to 65535 (NTLS uses 1792)");
      }
    } else if (SplitIndexedKey(e.key, kServerHtl, "", &index)) {
      if (!ParseConfigFlag(e.value, &flag))
        return ConfigEntryError(doc_, e, "use 0 or 1");
    } else if (e.key == "TCPKeepAlive") {
      if (!ParseConfigFlag(e.value, &flag))
        return ConfigEntryError(doc_, e, "use 0 or 1");
    } else if (e.key == "ReceiveTimeout" || e.key == "ConnectTimeout") {
      if (!absl::SimpleAtoi(e.value, &v) || v < 1 || v > 3600000) {
        return ConfigEntryError(
            doc_, e, "a timeout is in milliseconds, from 1 to 3600000");
      }
    } else {
      continue;
    }
    if (!index.empty() && name_indexes.count(index) == 0) {
      return ConfigEntryError(
          doc_, e,
          absl::StrCat("there is no ServerName", index,
                       " for this entry; add it or remove this line"));
    }
  }
  return ValidateHa(doc_, std::vector<std::string>(names.begin(), names.end()));
}

absl::StatusOr<std::vector<ServerConfig>> ClientConfig::Servers() const {
  absl::Status valid = Validate();
  if (!valid.ok()) return valid;
  std::vector<ServerConfig> out;
  const ConfigSection* s = doc_.FindSection(kClientSection);
  if (s == nullptr) return out;
  for (const ConfigEntry& e : s->entries) {
    std::string index;
    if (!SplitIndexedKey(e.key, kServerName, "", &index)) continue;
    ServerConfig server;
    server.index = index;
    server.name = CanonicalizeNameWithHost(e.value, "")->canonical;
    server.port =
        IntOr(Get(absl::StrCat(kServerPort, index)), kDefaultServerPort);
    server.htl = Get(absl::StrCat(kServerHtl, index)) == "1";
    out.push_back(std::move(server));
  }
  std::sort(out.begin(), out.end(),
            [](const ServerConfig& a, const ServerConfig& b) {
              int ia = IntOr(a.index, 0), ib = IntOr(b.index, 0);
              return ia < ib;
            });
  return out;
}

absl::StatusOr<ServerConfig> ClientConfig::FindServer(
    absl::string_view name) const {
  absl::StatusOr<std::vector<ServerConfig>> servers = Servers();
  if (!servers.ok()) return servers.status();
  for (const ServerConfig& s : *servers) {
    if (SameName(s.name, name)) return s;
  }
  return Error(
      absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
      absl::StrCat("server '", name, "' is not in ", doc_.file_name()));
}

absl::StatusOr<ServerConfig> ClientConfig::AddServer(
    const ServerConfig& server) {
  absl::StatusOr<CanonicalName> name =
      CanonicalizeNameWithHost(server.name, "");
  if (!name.ok()) return name.status();
  if (server.port < 1 || server.port > 65535) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("port ", server.port,
                              " is out of range; give 1 to 65535"));
  }
  absl::StatusOr<std::vector<ServerConfig>> servers = Servers();
  if (!servers.ok()) return servers.status();
  ServerConfig stored = server;
  stored.name = name->canonical;
  int next = 0;
  for (const ServerConfig& s : *servers) {
    next = std::max(next, IntOr(s.index, 0) + 1);
    if (s.name == name->canonical) stored.index = s.index;
  }
  if (stored.index.empty()) {
    stored.index = absl::StrFormat("%02d", next);
    // The file keeps the name as typed (letter case and all), as the trust
    // store's file names do; every lookup compares canonical forms.
    doc_.Set(kClientSection, absl::StrCat(kServerName, stored.index),
             FileStem(*name));
  }
  doc_.Set(kClientSection, absl::StrCat(kServerPort, stored.index),
           absl::StrCat(stored.port));
  doc_.Set(kClientSection, absl::StrCat(kServerHtl, stored.index),
           stored.htl ? "1" : "0");
  return stored;
}

absl::Status ClientConfig::RemoveServer(absl::string_view name) {
  absl::StatusOr<ServerConfig> found = FindServer(name);
  if (!found.ok()) return found.status();
  std::vector<std::string> groups = HaGroupsUsingServer(*this, found->name);
  if (!groups.empty()) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
        absl::StrCat("server '", found->name, "' is a member of HA group",
                     groups.size() > 1 ? "s '" : " '",
                     absl::StrJoin(groups, "', '"),
                     "'; remove its members first (vtl hagroup removeMember, "
                     "or deleteGroup)"));
  }
  absl::StatusOr<std::vector<ServerConfig>> servers = Servers();
  int removed = IntOr(found->index, 0);
  for (absl::string_view prefix : {kServerName, kServerPort, kServerHtl}) {
    doc_.Remove(kClientSection, absl::StrCat(prefix, found->index));
  }
  for (const ServerConfig& s : *servers) {
    int i = IntOr(s.index, 0);
    if (i <= removed) continue;
    std::string to = absl::StrFormat("%02d", i - 1);
    for (absl::string_view prefix : {kServerName, kServerPort, kServerHtl}) {
      doc_.Rename(kClientSection, absl::StrCat(prefix, s.index),
                  absl::StrCat(prefix, to));
    }
  }
  return absl::OkStatus();
}

std::string ClientConfig::Get(absl::string_view key) const {
  return doc_.Get(kClientSection, key).value_or("");
}

void ClientConfig::Set(absl::string_view key, absl::string_view value) {
  doc_.Set(kClientSection, key, value);
}

bool ClientConfig::TcpKeepAlive() const { return Get("TCPKeepAlive") != "0"; }

int ClientConfig::ReceiveTimeoutMs() const {
  return IntOr(Get("ReceiveTimeout"), kDefaultReceiveTimeoutMs);
}

int ClientConfig::ConnectTimeoutMs() const {
  return IntOr(Get("ConnectTimeout"), kDefaultConnectTimeoutMs);
}

namespace {

// LooksLikeIni reports whether `text` is the Windows crystoki.ini form: its
// first meaningful line is a "[Section]" header.
bool LooksLikeIni(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    return line[0] == '[';
  }
  return false;
}

// ParseIni reads the Windows crystoki.ini form ("[LunaSA Client]" sections of
// "Key=Value" lines, ';' comments) into a document, so that both forms import
// alike.
absl::StatusOr<ConfigDocument> ParseIni(absl::string_view text,
                                        absl::string_view file_name) {
  absl::StatusOr<ConfigDocument> doc = ConfigDocument::Parse("", file_name);
  if (!doc.ok()) return doc.status();
  std::string section;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return Error(absl::StatusCode::kInvalidArgument, TL_E_PARSE,
                     absl::StrCat(file_name, ":", number,
                                  ": a section header ends with ']'"));
      }
      section = std::string(
          absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos || section.empty()) {
      return Error(
          absl::StatusCode::kInvalidArgument, TL_E_PARSE,
          absl::StrCat(file_name, ":", number,
                       section.empty() ? ": a Key=Value line before any "
                                         "[Section] header"
                                       : ": expected Key=Value"));
    }
    const absl::string_view key =
        absl::StripAsciiWhitespace(line.substr(0, eq));
    if (!ConfigDocument::IsValidKey(key)) {
      return Error(
          absl::StatusCode::kInvalidArgument, TL_E_PARSE,
          absl::StrCat(file_name, ":", number, ": key '", absl::CHexEscape(key),
                       "' may hold only letters, digits, '_', '.' "
                       "and '-'"));
    }
    doc->Set(section, key, absl::StripAsciiWhitespace(line.substr(eq + 1)));
  }
  return doc;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ClientConfig::ImportChrystoki(
    absl::string_view text, absl::string_view file_name) {
  absl::StatusOr<ConfigDocument> source =
      LooksLikeIni(text) ? ParseIni(text, file_name)
                         : ConfigDocument::Parse(text, file_name);
  if (!source.ok()) return source.status();
  const ConfigSection* client = source->FindSection(kChrystokiClientSection);
  if (client == nullptr) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_CONFIG_INVALID,
        absl::StrCat(
            file_name, " has no '", kChrystokiClientSection,
            "' section; give the Chrystoki.conf of a network HSM client"));
  }
  std::vector<std::string> report;
  ClientConfig imported = *this;
  for (const ConfigEntry& e : client->entries) {
    std::string index;
    if (SplitIndexedKey(e.key, kServerName, "", &index)) {
      ServerConfig server;
      server.name = e.value;
      std::string port =
          source->Get(kChrystokiClientSection, absl::StrCat(kServerPort, index))
              .value_or("");
      std::string htl =
          source->Get(kChrystokiClientSection, absl::StrCat(kServerHtl, index))
              .value_or("0");
      if (!port.empty() && !absl::SimpleAtoi(port, &server.port)) {
        return ConfigEntryError(
            *source, e, absl::StrCat("ServerPort", index, " is not a number"));
      }
      server.htl = htl == "1";
      absl::StatusOr<CanonicalName> name =
          CanonicalizeNameWithHost(e.value, "");
      if (!name.ok())
        return ConfigEntryError(*source, e, name.status().message());
      if (imported.FindServer(name->canonical).ok()) {
        report.push_back(absl::StrCat("kept server ", name->canonical,
                                      ": it is already configured"));
        continue;
      }
      absl::StatusOr<ServerConfig> stored = imported.AddServer(server);
      if (!stored.ok())
        return ConfigEntryError(*source, e, stored.status().message());
      report.push_back(absl::StrCat("imported server ", stored->name, " port ",
                                    stored->port,
                                    stored->htl ? " with HTL" : "",
                                    "; register its "
                                    "certificate (tl_client_root_add_server)"));
      for (const std::string& w : name->warnings) report.push_back(w);
    } else if (e.key == "TCPKeepAlive" || IsTimeoutKey(e.key)) {
      imported.Set(e.key, e.value);
      report.push_back(absl::StrCat("imported ", e.key, " = ", e.value));
    }
  }
  absl::Status ha = ImportChrystokiHa(*source, &imported, &report);
  if (!ha.ok()) return ha;
  absl::Status valid = imported.Validate();
  if (!valid.ok()) return valid;
  *this = std::move(imported);
  return report;
}

}  // namespace trustlink::ntl
