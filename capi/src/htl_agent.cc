// The client half of trustlink/htl.h: the HTL agent and the proof hook.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "htl/agent.h"
#include "htl/link_connector.h"
#include "htl/messages.h"
#include "htl/proof_service.h"
#include "htl/secret_store.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"
#include "trustlink/htl.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
using trustlink::capi::internal::NullArgument;
namespace htl = trustlink::htl;
namespace ntl = trustlink::ntl;

struct tl_htl_agent_options : Handle {
  std::string client_root;
  std::vector<std::string> appliances;
  int64_t poll_interval_ms = 10000;
  std::string runtime_dir;
  bool proof_socket_set = false;
  std::string proof_socket;
};

struct tl_htl_agent : Handle {
  std::unique_ptr<htl::HtlConnector> connector;
  std::unique_ptr<htl::SecretStore> store;
  std::unique_ptr<htl::Agent> agent;
  std::string proof_socket;  // "" = no proof service
  ntl::internal::Mutex mu;
  std::unique_ptr<htl::ProofService> service ABSL_GUARDED_BY(mu);
};

struct tl_htl_prover : Handle {
  std::string socket_path;
};

namespace {

void CopyMessage(absl::string_view m, char* buf, size_t len) {
  if (buf == nullptr || len == 0) return;
  const size_t n = std::min(m.size(), len - 1);
  if (n > 0) std::memcpy(buf, m.data(), n);
  buf[n] = '\0';
}

int32_t StateCode(htl::AgentLinkState s) {
  switch (s) {
    case htl::AgentLinkState::kUp:
      return TL_HTL_AGENT_UP;
    case htl::AgentLinkState::kRetrying:
      return TL_HTL_AGENT_RETRYING;
    case htl::AgentLinkState::kRefused:
      return TL_HTL_AGENT_REFUSED;
    case htl::AgentLinkState::kNoToken:
      break;
  }
  return TL_HTL_AGENT_NO_TOKEN;
}

}  // namespace

TL_DEFINE_LAST_ERROR(tl_htl_agent_options)
TL_DEFINE_LAST_ERROR(tl_htl_agent)
TL_DEFINE_LAST_ERROR(tl_htl_prover)

extern "C" TL_EXPORT tl_status
tl_htl_agent_options_new(tl_htl_agent_options** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

extern "C" TL_EXPORT void tl_htl_agent_options_free(
    tl_htl_agent_options* o) noexcept {
  delete o;
}

extern "C" TL_EXPORT tl_status tl_htl_agent_options_set_client_root(
    tl_htl_agent_options* o, const char* path) noexcept {
  if (o == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_htl_agent_options handle is NULL");
  }
  return Guard(&o->last_error, [&]() -> absl::Status {
    if (path == nullptr) return NullArgument("path");
    o->client_root = path;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_options_add_appliance(
    tl_htl_agent_options* o, const char* name) noexcept {
  if (o == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_htl_agent_options handle is NULL");
  }
  return Guard(&o->last_error, [&]() -> absl::Status {
    if (name == nullptr) return NullArgument("name");
    o->appliances.emplace_back(name);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_options_set_poll_interval_ms(
    tl_htl_agent_options* o, int64_t ms) noexcept {
  if (o == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_htl_agent_options handle is NULL");
  }
  return Guard(&o->last_error, [&]() -> absl::Status {
    if (ms < 10 || ms > 3600 * 1000) {
      return ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
          "the HTL polling interval must be between 10 ms and one hour");
    }
    o->poll_interval_ms = ms;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_options_set_runtime_dir(
    tl_htl_agent_options* o, const char* path) noexcept {
  if (o == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_htl_agent_options handle is NULL");
  }
  return Guard(&o->last_error, [&]() -> absl::Status {
    o->runtime_dir = path == nullptr ? "" : path;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_options_set_proof_socket(
    tl_htl_agent_options* o, const char* path) noexcept {
  if (o == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_htl_agent_options handle is NULL");
  }
  return Guard(&o->last_error, [&]() -> absl::Status {
    o->proof_socket_set = path != nullptr;
    o->proof_socket = path == nullptr ? "" : path;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_new(tl_htl_agent_options* o,
                                                tl_htl_agent** out) noexcept {
  if (o == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_htl_agent_options handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(&o->last_error, "out is NULL");
  }
  return Guard(&o->last_error, [&]() -> absl::Status {
    auto a = std::make_unique<tl_htl_agent>();
    if (o->runtime_dir.empty()) {
      a->store = std::make_unique<htl::MemorySecretStore>();
    } else {
      absl::StatusOr<std::unique_ptr<htl::RuntimeSecretStore>> s =
          htl::RuntimeSecretStore::Open(o->runtime_dir);
      if (!s.ok()) return s.status();
      a->store = *std::move(s);
    }
    a->connector = htl::NewLinkConnector(o->client_root);
    htl::AgentOptions ao;
    ao.client_root = o->client_root;
    ao.appliances = o->appliances;
    ao.poll_interval = absl::Milliseconds(o->poll_interval_ms);
    ao.connector = a->connector.get();
    ao.store = a->store.get();
    absl::StatusOr<std::unique_ptr<htl::Agent>> agent = htl::Agent::Create(ao);
    if (!agent.ok()) return agent.status();
    a->agent = *std::move(agent);
    a->proof_socket =
        o->proof_socket_set ? o->proof_socket : htl::DefaultProofSocketPath();
    *out = a.release();
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_htl_agent_free(tl_htl_agent* a) noexcept {
  if (a == nullptr) return;
  (void)tl_htl_agent_stop(a);
  delete a;
}

extern "C" TL_EXPORT tl_status tl_htl_agent_start(tl_htl_agent* a) noexcept {
  if (a == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_agent handle is NULL");
  }
  return Guard(&a->last_error, [&]() -> absl::Status {
    ntl::internal::MutexLock lock(&a->mu);
    if (!a->proof_socket.empty() && a->service == nullptr) {
      htl::Agent* agent = a->agent.get();
      absl::StatusOr<std::unique_ptr<htl::ProofService>> svc =
          htl::ProofService::Start(
              a->proof_socket,
              [agent](absl::string_view appliance, absl::string_view exporter) {
                return agent->ProofFor(appliance, exporter);
              });
      if (!svc.ok()) return svc.status();
      a->service = *std::move(svc);
    }
    return a->agent->Start();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_stop(tl_htl_agent* a) noexcept {
  if (a == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_agent handle is NULL");
  }
  return Guard(&a->last_error, [&]() -> absl::Status {
    a->agent->Stop();
    ntl::internal::MutexLock lock(&a->mu);
    a->service.reset();
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_poll(tl_htl_agent* a) noexcept {
  if (a == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_agent handle is NULL");
  }
  return Guard(&a->last_error, [&]() { return a->agent->PollOnce(); });
}

extern "C" TL_EXPORT tl_status tl_htl_agent_status(
    const tl_htl_agent* a, const char* appliance, int32_t* out_state,
    uint64_t* out_generation, tl_status* out_last_failure, char* msg_buf,
    size_t msg_buf_len) noexcept {
  if (a == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_agent handle is NULL");
  }
  if (appliance == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "appliance is NULL");
  }
  if (out_state == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_state is NULL");
  }
  if (out_generation == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_generation is NULL");
  }
  if (out_last_failure == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_last_failure is NULL");
  }
  try {
    for (const htl::AgentApplianceStatus& s : a->agent->Status()) {
      if (s.appliance != appliance) continue;
      *out_state = StateCode(s.state);
      *out_generation = s.generation;
      *out_last_failure = ntl::ToTlStatus(s.last_error);
      CopyMessage(s.last_error.message(), msg_buf, msg_buf_len);
      return TL_OK;
    }
    return TL_E_NOT_FOUND;
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

extern "C" TL_EXPORT size_t tl_htl_proof_max(void) noexcept {
  return TL_HTL_PROOF_MAX;
}

extern "C" TL_EXPORT tl_status tl_htl_default_proof_socket(
    char* buf, size_t buf_len, size_t* out_len) noexcept {
  try {
    return trustlink::capi::internal::CopyString(
        __func__, htl::DefaultProofSocketPath(), buf, buf_len, out_len);
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

extern "C" TL_EXPORT tl_status tl_htl_prover_new(const char* socket_path,
                                                 tl_htl_prover** out) noexcept {
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  try {
    auto p = std::make_unique<tl_htl_prover>();
    p->socket_path = socket_path != nullptr ? std::string(socket_path)
                                            : htl::DefaultProofSocketPath();
    *out = p.release();
    return TL_OK;
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

extern "C" TL_EXPORT void tl_htl_prover_free(tl_htl_prover* p) noexcept {
  delete p;
}

extern "C" TL_EXPORT tl_status tl_htl_prover_prove(tl_htl_prover* p,
                                                   const char* appliance,
                                                   const uint8_t* exporter,
                                                   size_t exporter_len,
                                                   uint8_t* out, size_t out_cap,
                                                   size_t* out_len) noexcept {
  if (p == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_prover handle is NULL");
  }
  return Guard(&p->last_error, [&]() -> absl::Status {
    if (appliance == nullptr || exporter == nullptr || out == nullptr ||
        out_len == nullptr) {
      return NullArgument("appliance, exporter, out or out_len");
    }
    absl::StatusOr<htl::LinkProof> proof = htl::RequestLinkProof(
        p->socket_path, appliance,
        absl::string_view(reinterpret_cast<const char*>(exporter),
                          exporter_len));
    if (!proof.ok()) return proof.status();
    const std::string encoded = htl::EncodeLinkProof(*proof);
    if (encoded.size() > out_cap) {
      *out_len = encoded.size();
      return ntl::Error(
          absl::StatusCode::kOutOfRange, TL_E_BUFFER_TOO_SMALL,
          absl::StrCat("an HTL proof needs ", encoded.size(), " bytes"));
    }
    std::memcpy(out, encoded.data(), encoded.size());
    *out_len = encoded.size();
    return absl::OkStatus();
  });
}
