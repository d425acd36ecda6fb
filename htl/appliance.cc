// htl::Appliance's frame: opening the state directory (and, as daemon, starting
// a new boot), loading and saving one client's state file, handing events to
// the sink, and reading the alert log. The operations themselves live in the
// other appliance_*.cc files, one concern each (see BUILD.bazel).

#include "htl/appliance.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "htl/appliance_internal.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {

using appliance_internal::kAlertsFile;
using appliance_internal::kMaxStateFile;

namespace {

constexpr absl::string_view kBootFile = "boot";

}  // namespace

absl::StatusOr<std::unique_ptr<Appliance>> Appliance::Open(
    const Options& options) {
  if (options.root.empty() || options.clock == nullptr) {
    return ntl::Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        "the HTL appliance state needs a root directory and a clock");
  }
  absl::StatusOr<internal::Dir> root = internal::Dir::Open(options.root, true);
  if (!root.ok()) return root.status();
  absl::StatusOr<internal::Dir> dir = root->OpenSubdir("htl", true);
  if (!dir.ok()) return dir.status();

  Boot boot;
  if (options.daemon) {
    boot.id = HexEncode(RandomBytes(16));
    boot.at = options.clock->Now();
    const std::string text =
        absl::StrCat("id ", boot.id, "\nat ", absl::ToUnixNanos(boot.at), "\n");
    if (absl::Status s = dir->WriteFileAtomic(kBootFile, text, 0600); !s.ok())
      return s;
  } else {
    absl::StatusOr<std::string> text = dir->ReadFile(kBootFile, 4096);
    if (text.ok()) {
      for (absl::string_view line :
           absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
        absl::string_view v = line;
        int64_t ns = 0;
        if (absl::ConsumePrefix(&v, "id ")) {
          boot.id = std::string(v);
        } else if (absl::ConsumePrefix(&v, "at ") && absl::SimpleAtoi(v, &ns)) {
          boot.at = absl::FromUnixNanos(ns);
        }
      }
    } else if (!absl::IsNotFound(text.status())) {
      return text.status();
    }
  }
  std::unique_ptr<Appliance> a(new Appliance(options, *std::move(dir), boot));
  if (options.daemon) {
    absl::StatusOr<std::vector<std::string>> names = a->dir_.List();
    if (!names.ok()) return names.status();
    ntl::internal::MutexLock lock(&a->mu_);
    for (const std::string& name : *names) {
      if (!absl::StartsWith(name, kClientFilePrefix)) continue;
      absl::StatusOr<std::string> text = a->dir_.ReadFile(name, kMaxStateFile);
      if (!text.ok()) return text.status();
      absl::StatusOr<ClientState> s = ParseClientState(*text, name);
      if (!s.ok()) return s.status();
      if (s->chain == Chain::kAlive) a->live_.insert(s->client);
    }
  }
  return a;
}

absl::StatusOr<ClientState> Appliance::Load(absl::string_view client) const {
  if (client.empty()) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                      "client label is empty");
  }
  const std::string name = ClientFileName(client);
  absl::StatusOr<std::string> text = dir_.ReadFile(name, kMaxStateFile);
  if (absl::IsNotFound(text.status())) {
    ClientState fresh;
    fresh.client = std::string(client);
    return fresh;
  }
  if (!text.ok()) return text.status();
  absl::StatusOr<ClientState> s =
      ParseClientState(*text, absl::StrCat(dir_.path(), "/", name));
  if (s.ok() && s->client != client) {
    return ntl::Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                      absl::StrCat("HTL state file ", dir_.path(), "/", name,
                                   " belongs to another client"));
  }
  return s;
}

absl::Status Appliance::Save(const ClientState& state) {
  absl::Status s = dir_.WriteFileAtomic(ClientFileName(state.client),
                                        SerializeClientState(state), 0600);
  if (s.ok()) {
    if (state.chain == Chain::kAlive) {
      live_.insert(state.client);
    } else {
      live_.erase(state.client);
    }
  }
  return s;
}

void Appliance::Dispatch(const std::vector<HtlEvent>& events) {
  if (events.empty()) return;
  std::function<void(const HtlEvent&)> sink;
  {
    ntl::internal::MutexLock lock(&sink_mu_);
    sink = sink_;
  }
  if (!sink) return;
  for (const HtlEvent& e : events) sink(e);
}

void Appliance::SetEventSink(std::function<void(const HtlEvent&)> sink) {
  ntl::internal::MutexLock lock(&sink_mu_);
  sink_ = std::move(sink);
}

absl::StatusOr<std::vector<std::string>> Appliance::Alerts() const {
  absl::StatusOr<std::string> text = dir_.ReadFile(kAlertsFile, 16 << 20);
  if (absl::IsNotFound(text.status())) return std::vector<std::string>{};
  if (!text.ok()) return text.status();
  return std::vector<std::string>(
      absl::StrSplit(*text, '\n', absl::SkipEmpty()));
}

}  // namespace trustlink::htl
