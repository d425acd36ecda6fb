/* vtl's shared pieces: the exit-code table, the parsed options and the error
 * and usage printers. Every command group (vtl_enrol.c, vtl_link.c) answers
 * with the same exit codes and message shapes, so they live in one place
 * rather than in each group. */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_COMMON_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_COMMON_H_

#include "examples/cli/cli_args.h"
#include "trustlink/trustlink.h"

/* Exit codes: one table, documented in docs/client-enrolment.md. A usage
 * error is CLI_EXIT_USAGE, as in ntlsh, ntlsd and htlclient. */
enum {
  kExitOk = 0,
  kExitBadInput = 1,
  kExitUsage = CLI_EXIT_USAGE,
  kExitExists = 3,
  kExitNotFound = 4,
  kExitPermission = 5,
  kExitVerifyFailed = 6,
  kExitSystem = 7
};

/* VtlArgs holds every option main() accepts. One struct for all commands,
 * because main() parses the options before it knows which command they are
 * for; a command ignores what it does not use. */
struct VtlArgs {
  const char *command; /* as the usage spells it */
  const char *name;
  const char *file;
  const char *key_type;
  long days;
  long port;
  int htl;
  int nohtl;
  int force;
  int replace;
  int repair;
  int local;
  long timeout_ms;
  long slot;
  const char *op;
  const char *data;
  long count;
  int json; /* --json: verify, listSlots, listServers and hagroup listGroups */
  /* vtl hagroup (vtl_hagroup.c): the subcommand as its table spells it, the
   * group (-label or -group), a member (-server and -partition, or -serial)
   * haonly's switch and recovery's values. */
  const char *subcommand;
  const char *label;
  const char *group;
  const char *server;
  const char *partition;
  const char *serial;
  int enable;
  int disable;
  int show;
  const char *interval; /* hagroup recovery: read there, to tell "not given" */
  const char *attempts;
};

/* VtlExitCodeFor maps a trustlink status to vtl's exit code. */
int VtlExitCodeFor(tl_status status);

/* VtlFail prints root's last error (or a generic one if root is NULL or has
 * none) and vtl's hint for it (vtl_hints.h) to stderr, and returns the exit
 * code for status. */
int VtlFail(const tl_client_root *root, tl_status status,
            const struct VtlArgs *a);

/* VtlUsage prints problem (if not NULL) and the usage text to stderr and
 * returns kExitUsage. It is defined in vtl.c, beside the text it prints. */
int VtlUsage(const char *problem);

/* VtlParseLong parses text as a decimal integer in [min, max]. Returns 1 and
 * writes *out on success, 0 (and leaves *out alone) otherwise. */
int VtlParseLong(const char *text, long min, long max, long *out);

/* VtlJsonString prints text as a JSON string (quoted and escaped) to
 * stdout. */
void VtlJsonString(const char *text);

/* VtlJsonField prints ",\"key\":" (without the comma when first is
 * non-zero), for the value the caller prints next. */
void VtlJsonField(int first, const char *key);

/* VtlPrintServerJson prints entry index of list as a JSON object (name, port,
 * htl, fingerprint, status, message), after a comma unless index is 0. */
void VtlPrintServerJson(const tl_server_list *list, size_t index);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_COMMON_H_ */
