/* vtl: the client's enrolment tool, written against trustlink's C ABI only.
 *
 *   vtl [--root DIR] createCert -n NAME [-k KEYTYPE] [-days N] [-force]
 *   vtl [--root DIR] addServer -n NAME -c FILE [-p PORT] [-htl|-nohtl]
 *                              [-replace]
 *   vtl [--root DIR] deleteServer -n NAME
 *   vtl [--root DIR] listServers [--json]
 *   vtl [--root DIR] show
 *   vtl [--root DIR] verify [-repair] [-local] [-timeout MS] [--json]
 *   vtl [--root DIR] listSlots [--json]
 *   vtl [--root DIR] call -slot N -op echo|random|sha256|hmac [-data TEXT]
 *                         [-count N]
 *   vtl [--root DIR] importConfig -c Chrystoki.conf|crystoki.ini
 *   vtl [--root DIR] hagroup SUBCOMMAND [options]   (vtl_hagroup.c)
 *   vtl --help | --version
 *
 * Command words and options are matched without regard to letter case, and
 * options take one or two dashes and "=VALUE" (examples/cli/cli_args.h, the
 * parser all four example programs share).
 * The client root is --root, else $TRUSTLINK_CLIENT_ROOT, else
 * /etc/trustlink/client. Exit codes are in docs/client-enrolment.md (and `vtl
 * help`).
 *
 * This file holds the usage text, the option parsing and the dispatch, so
 * that what vtl accepts reads in one place; the commands are in vtl_enrol.c
 * and vtl_link.c, the hagroup subcommands in vtl_hagroup.c, and the p11 group
 * in vtl_p11.c. */
#include <stdio.h>
#include <string.h>

#include "examples/cli/cli_args.h"
#include "examples/vtl/vtl_common.h"
#include "examples/vtl/vtl_enrol.h"
#include "examples/vtl/vtl_hagroup.h"
#include "examples/vtl/vtl_link.h"
#include "examples/vtl/vtl_p11.h"
#include "trustlink/trustlink.h"

static const char kUsage[] =
    "usage: vtl [--root DIR] COMMAND [options]     (vtl --help, vtl "
    "--version)\n"
    "\n"
    "commands:\n"
    "  createCert -n NAME [-k KEYTYPE] [-days N] [-force]\n"
    "      make this client's key and self-signed certificate; prints both "
    "paths.\n"
    "      KEYTYPE: ed25519 (default), p256, p384, rsa2048, rsa3072, rsa4096.\n"
    "  addServer -n NAME -c FILE [-p PORT] [-htl|-nohtl] [-replace]\n"
    "      register an appliance's certificate (its server.pem); prints the "
    "fingerprint.\n"
    "      Run again for a known server, it keeps the port and HTL setting "
    "unless given.\n"
    "  deleteServer -n NAME        unregister an appliance.\n"
    "  listServers [--json]        name, port, HTL and fingerprint of each "
    "appliance.\n"
    "  show                        the client identity, the config file and "
    "the servers.\n"
    "  verify [-repair] [-local] [-timeout MS] [--json]\n"
    "      check files, CAFile.pem agreement, key permissions and the config, "
    "then connect\n"
    "      to every server and say per server: OK with its slots, or why the "
    "link fails.\n"
    "      -repair rebuilds CAFile.pem; -local skips the connections; -timeout "
    "(5000 ms).\n"
    "  listSlots [--json]          slot, server, partition, label, serial and "
    "state.\n"
    "  call -slot N -op OP [-data TEXT] [-count N]\n"
    "      call a slot's partition: OP is echo, random (-data is the byte "
    "count), sha256\n"
    "      or hmac; prints the answer (hex, or text for echo); -count N times "
    "it.\n"
    "  p11 setup [-dir DIR]        p11-kit module configs: assigned "
    "partitions as PKCS#11\n"
    "                              slots (vtl p11 help; docs/pkcs11.md).\n"
    "  importConfig -c FILE        import servers, keep-alive, timeouts and "
    "HA groups\n"
    "                              from a Chrystoki.conf or a Windows "
    "crystoki.ini.\n"
    "  hagroup createGroup|addMember|addStandby|removeMember|deleteGroup|"
    "haonly|recovery|\n"
    "          listGroups\n"
    "      HA groups: one virtual slot over partitions on several servers "
    "(vtl hagroup\n"
    "      --help; docs/ha.md).\n"
    "\n"
    "The client root is --root DIR, else $TRUSTLINK_CLIENT_ROOT, "
    "else " TL_CLIENT_ROOT_DEFAULT
    ".\n"
    "Command words and options ignore letter case; options take - or --, "
    "and =VALUE.\n"
    "Exit codes: 0 ok, 1 bad input (name, file, certificate, config), 2 usage, "
    "3 already\n"
    "exists, 4 not found, 5 permission (key mode, symlink), 6 verify found "
    "problems,\n"
    "7 system or internal error.\n";

int VtlUsage(const char *problem) {
  if (problem != NULL) fprintf(stderr, "vtl: %s\n\n", problem);
  fputs(kUsage, stderr);
  return kExitUsage;
}

/* The commands, spelled as the usage writes them; a command word matches
 * without regard to letter case (the guide writes createcert, addserver). */
static const char *const kCommands[] = {
    "createCert", "addServer", "importConfig", "deleteServer", "listServers",
    "show",       "verify",    "listSlots",    "call",         "hagroup"};

/* Option is one entry of vtl's option table: its name (matched by
 * CliTakeOption as -name, --name or -name=VALUE, in any case) and where its
 * value goes. A number option is checked against [min, max] with `range`, the
 * message for a value out of range. */
struct Option {
  const char *name;
  const char **text; /* a text option */
  long *number;      /* a number option */
  int *flag;         /* a switch */
  long min, max;
  const char *range;
};

/* ParseOption takes argv[*i] if it is one of the options; returns -1 when it
 * is not, else an exit code (kExitOk when it was taken). */
static int ParseOption(const struct Option *options, size_t num_options,
                       int argc, char **argv, int *i) {
  for (size_t k = 0; k < num_options; ++k) {
    const struct Option *o = &options[k];
    const char *value = NULL;
    const char *arg = argv[*i];
    int got = CliTakeOption(argc, argv, i, o->name, o->flag == NULL, &value);
    if (got == 0) continue;
    if (got < 0) {
      fprintf(stderr, "vtl: option %s %s\n\n", arg,
              o->flag == NULL ? "needs a value" : "takes no value");
      return VtlUsage(NULL);
    }
    if (o->flag != NULL) {
      *o->flag = 1;
    } else if (o->text != NULL) {
      *o->text = value;
    } else if (!VtlParseLong(value, o->min, o->max, o->number)) {
      fprintf(stderr, "vtl: error: -%s %s: %s\n", o->name, value, o->range);
      return kExitBadInput;
    }
    return kExitOk;
  }
  return -1;
}

int main(int argc, char **argv) {
  const char *root_path = NULL;
  const char *command = NULL;
  int json = 0;
  struct VtlArgs a;
  memset(&a, 0, sizeof(a));
  char port_range[96], days_range[64];
  snprintf(port_range, sizeof(port_range),
           "a port is 1 to 65535 (NTLS listens on %d)", TL_DEFAULT_SERVER_PORT);
  snprintf(days_range, sizeof(days_range), "give 1 to %d days (20 years)",
           TL_CERT_VALIDITY_MAX_DAYS);
  const struct Option options[] = {
      {"root", &root_path, NULL, NULL, 0, 0, NULL},
      {"n", &a.name, NULL, NULL, 0, 0, NULL},
      {"c", &a.file, NULL, NULL, 0, 0, NULL},
      {"k", &a.key_type, NULL, NULL, 0, 0, NULL},
      {"days", NULL, &a.days, NULL, 1, TL_CERT_VALIDITY_MAX_DAYS, days_range},
      {"p", NULL, &a.port, NULL, 1, 65535, port_range},
      {"htl", NULL, NULL, &a.htl, 0, 0, NULL},
      {"nohtl", NULL, NULL, &a.nohtl, 0, 0, NULL},
      {"force", NULL, NULL, &a.force, 0, 0, NULL},
      {"replace", NULL, NULL, &a.replace, 0, 0, NULL},
      {"repair", NULL, NULL, &a.repair, 0, 0, NULL},
      {"local", NULL, NULL, &a.local, 0, 0, NULL},
      {"json", NULL, NULL, &json, 0, 0, NULL},
      {"timeout", NULL, &a.timeout_ms, NULL, 1, 600000,
       "give 1 to 600000 milliseconds"},
      {"slot", NULL, &a.slot, NULL, 0, 0x7fffffffL,
       "a slot number from vtl listSlots"},
      {"op", &a.op, NULL, NULL, 0, 0, NULL},
      {"data", &a.data, NULL, NULL, 0, 0, NULL},
      {"count", NULL, &a.count, NULL, 1, 100000000L, "give 1 to 100000000"},
      {"label", &a.label, NULL, NULL, 0, 0, NULL},
      {"group", &a.group, NULL, NULL, 0, 0, NULL},
      {"server", &a.server, NULL, NULL, 0, 0, NULL},
      {"partition", &a.partition, NULL, NULL, 0, 0, NULL},
      {"serial", &a.serial, NULL, NULL, 0, 0, NULL},
      {"enable", NULL, NULL, &a.enable, 0, 0, NULL},
      {"disable", NULL, NULL, &a.disable, 0, 0, NULL},
      {"show", NULL, NULL, &a.show, 0, 0, NULL},
      {"interval", &a.interval, NULL, NULL, 0, 0, NULL},
      {"attempts", &a.attempts, NULL, NULL, 0, 0, NULL},
  };
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (CliIsHelp(arg)) {
      if (command != NULL && strcmp(command, "hagroup") == 0) {
        VtlHagroupHelp();
      } else {
        fputs(kUsage, stdout);
      }
      return kExitOk;
    }
    if (CliIsVersion(arg)) {
      CliPrintVersion("vtl");
      return kExitOk;
    }
    int rc = ParseOption(options, sizeof(options) / sizeof(options[0]), argc,
                         argv, &i);
    if (rc >= 0) {
      if (rc != kExitOk) return rc;
    } else if (arg[0] == '-') {
      fprintf(stderr, "vtl: unknown option %s\n\n", arg);
      return VtlUsage(NULL);
    } else if (command == NULL && CliWordIs(arg, "p11")) {
      return VtlP11Main(root_path, argc - i - 1, argv + i + 1);
    } else if (command != NULL && strcmp(command, "hagroup") == 0 &&
               a.subcommand == NULL) {
      a.subcommand = VtlHagroupSubcommand(arg);
      if (a.subcommand == NULL) {
        fprintf(stderr, "vtl: unknown hagroup subcommand %s\n\n", arg);
        return VtlHagroupUsage(NULL);
      }
    } else if (command == NULL) {
      for (size_t k = 0; k < sizeof(kCommands) / sizeof(kCommands[0]); ++k) {
        if (CliWordIs(arg, kCommands[k])) command = kCommands[k];
      }
      if (command == NULL) {
        fprintf(stderr, "vtl: unknown command %s\n\n", arg);
        return VtlUsage(NULL);
      }
    } else {
      fprintf(stderr, "vtl: unexpected argument %s\n\n", arg);
      return VtlUsage(NULL);
    }
  }
  if (command == NULL) return VtlUsage("no command given");
  if (strcmp(command, "hagroup") == 0 && a.subcommand == NULL) {
    return VtlHagroupUsage("hagroup needs a subcommand");
  }
  if (a.htl && a.nohtl) return VtlUsage("give -htl or -nohtl, not both");
  if (json && strcmp(command, "verify") != 0 &&
      strcmp(command, "listSlots") != 0 &&
      strcmp(command, "listServers") != 0 &&
      (a.subcommand == NULL || strcmp(a.subcommand, "listGroups") != 0)) {
    return VtlUsage(
        "--json is for verify, listSlots, listServers and hagroup listGroups");
  }
  a.json = json;
  a.command = command;
  int create = strcmp(command, "createCert") == 0 ||
               strcmp(command, "addServer") == 0 ||
               strcmp(command, "importConfig") == 0;
  tl_client_root *root = NULL;
  if (tl_client_root_new(&root) != TL_OK) return kExitSystem;
  tl_status s = tl_client_root_open(root, root_path, create);
  int rc;
  if (s != TL_OK) {
    rc = VtlFail(root, s, &a);
    if (s == TL_E_NOT_FOUND) {
      /* The library's message names API fixes; the command-line ones are ours.
       */
      fprintf(stderr,
              "vtl: run vtl createCert first, or give --root (or set "
              "TRUSTLINK_CLIENT_ROOT)\n");
    }
  } else if (strcmp(command, "createCert") == 0) {
    rc = VtlCmdCreateCert(root, &a);
  } else if (strcmp(command, "addServer") == 0) {
    rc = VtlCmdAddServer(root, &a);
  } else if (strcmp(command, "deleteServer") == 0) {
    rc = VtlCmdDeleteServer(root, &a);
  } else if (strcmp(command, "listServers") == 0) {
    rc = VtlCmdListServers(root, &a);
  } else if (strcmp(command, "show") == 0) {
    rc = VtlCmdShow(root, &a);
  } else if (strcmp(command, "verify") == 0) {
    rc = VtlCmdVerify(root, &a);
  } else if (strcmp(command, "listSlots") == 0) {
    rc = VtlCmdListSlots(root, &a);
  } else if (strcmp(command, "call") == 0) {
    rc = VtlCmdCall(root, &a);
  } else if (strcmp(command, "hagroup") == 0) {
    rc = VtlCmdHagroup(root, &a);
  } else {
    rc = VtlCmdImportConfig(root, &a);
  }
  tl_client_root_free(root);
  return rc;
}
