// The client settings builder of the C ABI (trustlink/client.h).
#include <utility>

#include "capi/src/client_handles.h"
#include "ntl/client/pin.h"
#include "ntl/client/root_loader.h"
#include "ntl/config_root.h"
#include "ntl/internal/busy_poll.h"

using trustlink::capi::internal::Guard;
namespace client = trustlink::ntl::client;
using namespace trustlink::capi::client_internal;  // NOLINT: the helpers of
                                                   // this ABI part

TL_DEFINE_LAST_ERROR(tl_client_settings)

// ---- Settings
// ----------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status
tl_client_settings_new(tl_client_settings** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

extern "C" TL_EXPORT void tl_client_settings_free(
    tl_client_settings* settings) noexcept {
  delete settings;
}

extern "C" TL_EXPORT tl_status tl_client_settings_load_root(
    tl_client_settings* s, const char* root_path) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    absl::StatusOr<client::ClientSettings> loaded = client::LoadClientSettings(
        root_path != nullptr ? std::string(root_path)
                             : trustlink::ntl::DefaultClientRoot());
    if (!loaded.ok()) {
      return loaded.status();
    }
    // Keep what the embedder chose about threads, the initial wait, the
    // pacing of attempts, the HTL agent and busy-polling.
    loaded->use_io_thread = s->settings.use_io_thread;
    loaded->busy_poll_us = s->settings.busy_poll_us;
    loaded->dials_per_address = s->settings.dials_per_address;
    loaded->initial_wait = s->settings.initial_wait;
    loaded->htl_proof_socket = s->settings.htl_proof_socket;
    loaded->htl_proof_timeout = s->settings.htl_proof_timeout;
    s->settings = *std::move(loaded);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_add_server(
    tl_client_settings* s, const char* name, const char* host, uint16_t port,
    int32_t require_htl, const char* pinned_cert_pem) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (name == nullptr || name[0] == '\0') {
      return BadArgument("the server name must not be empty");
    }
    if (port == 0) {
      return BadArgument(
          absl::StrCat("server '", name, "' needs a non-zero port"));
    }
    if (require_htl != 0 && require_htl != 1) {
      return BadArgument("require_htl must be 0 or 1");
    }
    client::ServerSettings server;
    server.name = name;
    server.host = host != nullptr ? host : name;
    server.port = port;
    server.htl = require_htl == 1;
    if (pinned_cert_pem != nullptr) {
      absl::StatusOr<std::string> der = client::CertPemToDer(
          pinned_cert_pem,
          absl::StrCat("the pinned certificate for server '", name, "'"));
      if (!der.ok()) {
        return der.status();
      }
      server.pinned_cert_der = *std::move(der);
    }
    s->settings.servers.push_back(std::move(server));
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_identity_pem(
    tl_client_settings* s, const char* cert_pem, const char* key_pem) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (cert_pem == nullptr || key_pem == nullptr) {
      return NullArgument("cert_pem and key_pem");
    }
    s->settings.client_cert_pem = cert_pem;
    s->settings.client_key_pem = key_pem;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_keepalive(
    tl_client_settings* s, int32_t enabled, int32_t idle_seconds,
    int32_t interval_seconds, int32_t count) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if ((enabled != 0 && enabled != 1) || idle_seconds <= 0 ||
        interval_seconds <= 0 || count <= 0) {
      return BadArgument(
          "keep-alive: enabled is 0 or 1 and the times and count are > 0");
    }
    s->settings.tcp_keepalive = enabled == 1;
    s->settings.keepalive_idle_seconds = idle_seconds;
    s->settings.keepalive_interval_seconds = interval_seconds;
    s->settings.keepalive_count = count;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_timeouts(
    tl_client_settings* s, uint32_t connect_ms, uint32_t heartbeat_interval_ms,
    uint32_t heartbeat_timeout_ms) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (connect_ms == 0 || heartbeat_interval_ms == 0 ||
        heartbeat_timeout_ms <= heartbeat_interval_ms) {
      return BadArgument(
          "timeouts must be non-zero and the heartbeat timeout longer than its "
          "interval");
    }
    s->settings.connect_timeout = absl::Milliseconds(connect_ms);
    s->settings.heartbeat_interval = absl::Milliseconds(heartbeat_interval_ms);
    s->settings.heartbeat_timeout = absl::Milliseconds(heartbeat_timeout_ms);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status
tl_client_settings_set_reconnect(tl_client_settings* s, int32_t enabled,
                                 uint32_t min_ms, uint32_t max_ms) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if ((enabled != 0 && enabled != 1) || min_ms == 0 || max_ms < min_ms) {
      return BadArgument(
          "reconnect: enabled is 0 or 1 and 0 < min_ms <= max_ms");
    }
    s->settings.reconnect = enabled == 1;
    s->settings.reconnect_min = absl::Milliseconds(min_ms);
    s->settings.reconnect_max = absl::Milliseconds(max_ms);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_no_threads(
    tl_client_settings* s, int32_t no_threads) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (no_threads != 0 && no_threads != 1) {
      return BadArgument("no_threads must be 0 or 1");
    }
    s->settings.use_io_thread = no_threads == 0;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_dials_per_address(
    tl_client_settings* s, uint32_t max_dials) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (max_dials < 1 || max_dials > 1024) {
      return BadArgument(absl::StrCat(
          "dials per address must be 1 to 1024, not ", max_dials,
          " (keep it below the appliance's per-source cap, 64 by default)"));
    }
    s->settings.dials_per_address = static_cast<int>(max_dials);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_initial_wait(
    tl_client_settings* s, uint32_t wait_ms) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    s->settings.initial_wait = absl::Milliseconds(wait_ms);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_htl_proof_socket(
    tl_client_settings* s, const char* path) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    s->settings.htl_proof_socket = path != nullptr ? path : "";
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_htl_proof_timeout(
    tl_client_settings* s, uint32_t timeout_ms) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (timeout_ms == 0) {
      return BadArgument(
          "the HTL proof timeout must be non-zero (milliseconds)");
    }
    s->settings.htl_proof_timeout = absl::Milliseconds(timeout_ms);
    return absl::OkStatus();
  });
}

static_assert(TL_BUSY_POLL_MAX_US ==
                  trustlink::ntl::internal::kMaxBusyPollMicros,
              "the C header's busy-poll limit is the library's");

extern "C" TL_EXPORT tl_status tl_client_settings_set_busy_poll(
    tl_client_settings* s, uint32_t budget_us) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (absl::Status st = trustlink::ntl::internal::CheckBusyPollBudget(
            budget_us, "a busy-poll budget");
        !st.ok()) {
      return BadArgument(st.message());
    }
    s->settings.busy_poll_us = budget_us;
    return absl::OkStatus();
  });
}
