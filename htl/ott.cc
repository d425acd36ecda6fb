#include "htl/ott.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "htl/crypto.h"
#include "htl/internal/files.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {
constexpr absl::string_view kHeader = "trustlink-htl-ott v1";

absl::Status Invalid(absl::string_view what, absl::string_view why) {
  return ntl::Error(
      absl::StatusCode::kInvalidArgument, TL_E_OTT_INVALID,
      absl::StrCat("token file ", what, " ", why,
                   "; copy the .ott file from the appliance again"));
}
}  // namespace

NewOtt GenerateOtt(absl::Time now, absl::Duration expiry) {
  NewOtt out;
  out.token = RandomBytes(kTokenLen);
  out.record.hash = Sha256(out.token);
  out.record.generated_at = now;
  out.record.expires_at = now + expiry;
  return out;
}

std::string FormatTokenFile(absl::string_view token,
                            absl::string_view client_name) {
  return absl::StrCat(kHeader, "\nclient ", client_name, "\ntoken ",
                      HexEncode(token), "\n");
}

absl::StatusOr<std::string> ParseTokenFile(absl::string_view contents,
                                           absl::string_view what) {
  if (contents.size() > kMaxTokenFileSize) {
    return Invalid(what, "is too large to be a token file");
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(contents, absl::ByAnyChar("\r\n"), absl::SkipWhitespace());
  if (lines.empty() || absl::StripAsciiWhitespace(lines[0]) != kHeader) {
    return Invalid(what, absl::StrCat("does not start with '", kHeader, "'"));
  }
  std::string token;
  int tokens = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "token ")) {
      absl::StatusOr<std::string> raw =
          HexDecode(absl::StripAsciiWhitespace(rest), "token");
      if (!raw.ok() || raw->size() != kTokenLen) {
        return Invalid(what, "has a token that is not 64 hex digits");
      }
      token = *std::move(raw);
      ++tokens;
    }
  }
  if (tokens != 1) {
    return Invalid(what, tokens == 0 ? "has no token line"
                                     : "has more than one token line");
  }
  return token;
}

absl::StatusOr<std::string> TokenFileName(absl::string_view name) {
  if (absl::Status s = internal::ValidateFileName(name, "token file name");
      !s.ok()) {
    return s;
  }
  return absl::StrCat(name, kTokenFileSuffix);
}

bool TokenMatches(const OttRecord& record, absl::string_view token) {
  return ConstantTimeEquals(Sha256(token), record.hash);
}

absl::Status CheckUnconsumedOtt(const OttRecord& record, absl::Time now,
                                absl::string_view client) {
  if (record.consumed) {
    return ntl::Error(
        absl::StatusCode::kFailedPrecondition, TL_E_OTT_USED,
        absl::StrCat("the one-time token for client '", client,
                     "' was already used at ",
                     absl::FormatTime(record.consumed_at),
                     "; generate a new one (tl_htl_generate_ott)"));
  }
  if (now >= record.expires_at) {
    return ntl::Error(
        absl::StatusCode::kFailedPrecondition, TL_E_OTT_EXPIRED,
        absl::StrCat("the one-time token for client '", client, "' expired at ",
                     absl::FormatTime(record.expires_at),
                     "; generate a new one (tl_htl_generate_ott) and copy it "
                     "to the client within its expiry"));
  }
  return absl::OkStatus();
}

}  // namespace trustlink::htl
