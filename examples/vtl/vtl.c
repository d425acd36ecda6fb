/* vtl: the client's enrolment tool, written against trustlink's C ABI only.
 *
 *   vtl [--root DIR] createCert -n NAME [-k KEYTYPE] [-days N] [-force]
 *   vtl [--root DIR] addServer -n NAME -c FILE [-p PORT] [-htl] [-replace]
 *   vtl [--root DIR] deleteServer -n NAME
 *   vtl [--root DIR] listServers
 *   vtl [--root DIR] show
 *   vtl [--root DIR] verify [-repair] [-local] [-timeout MS]
 *   vtl [--root DIR] listSlots
 *   vtl [--root DIR] call -slot N -op echo|random|sha256|hmac [-data TEXT]
 *                         [-count N]
 *   vtl [--root DIR] importConfig -c Chrystoki.conf
 *
 * The client root is --root, else $TRUSTLINK_CLIENT_ROOT, else
 * /etc/trustlink/client. Exit codes are in docs/client-enrolment.md (and `vtl
 * help`).
 *
 * This file holds the usage text, the option parsing and the dispatch, so
 * that what vtl accepts reads in one place; the commands are in vtl_enrol.c
 * and vtl_link.c, and the p11 group in vtl_p11.c. */
#include <stdio.h>
#include <string.h>

#include "examples/vtl/vtl_common.h"
#include "examples/vtl/vtl_enrol.h"
#include "examples/vtl/vtl_link.h"
#include "examples/vtl/vtl_p11.h"
#include "trustlink/trustlink.h"

static const char kUsage[] =
    "usage: vtl [--root DIR] COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  createCert -n NAME [-k KEYTYPE] [-days N] [-force]\n"
    "      make this client's key and self-signed certificate; prints both "
    "paths.\n"
    "      KEYTYPE: ed25519 (default), p256, p384, rsa2048, rsa3072, rsa4096.\n"
    "  addServer -n NAME -c FILE [-p PORT] [-htl] [-replace]\n"
    "      register an appliance's certificate (its server.pem); prints the "
    "fingerprint.\n"
    "  deleteServer -n NAME        unregister an appliance.\n"
    "  listServers                 name, port, HTL and fingerprint of each "
    "appliance.\n"
    "  show                        the client identity, the config file and "
    "the servers.\n"
    "  verify [-repair] [-local] [-timeout MS]\n"
    "      check files, CAFile.pem agreement, key permissions and the config, "
    "then connect\n"
    "      to every server and say per server: OK with its slots, or why the "
    "link fails.\n"
    "      -repair rebuilds CAFile.pem; -local skips the connections; -timeout "
    "(5000 ms).\n"
    "  listSlots                   slot, server, partition, label, serial and "
    "state.\n"
    "  call -slot N -op OP [-data TEXT] [-count N]\n"
    "      call a slot's partition: OP is echo, random (-data is the byte "
    "count), sha256\n"
    "      or hmac; prints the answer (hex, or text for echo); -count N times "
    "it.\n"
    "  p11 setup [-dir DIR]        p11-kit module configs: assigned "
    "partitions as PKCS#11\n"
    "                              slots (vtl p11 help; docs/pkcs11.md).\n"
    "  importConfig -c FILE        import servers, keep-alive and timeouts "
    "from the\n"
    "                              'LunaSA Client' section of a "
    "Chrystoki.conf.\n"
    "\n"
    "The client root is --root DIR, else $TRUSTLINK_CLIENT_ROOT, "
    "else " TL_CLIENT_ROOT_DEFAULT
    ".\n"
    "Exit codes: 0 ok, 1 usage, 2 bad input (name, file, certificate, config), "
    "3 already\n"
    "exists, 4 not found, 5 permission (key mode, symlink), 6 verify found "
    "problems,\n"
    "7 system or internal error.\n";

int VtlUsage(const char *problem) {
  if (problem != NULL) fprintf(stderr, "vtl: %s\n\n", problem);
  fputs(kUsage, stderr);
  return kExitUsage;
}

int main(int argc, char **argv) {
  const char *root_path = NULL;
  const char *command = NULL;
  struct VtlArgs a;
  memset(&a, 0, sizeof(a));
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                            \
  do {                                                          \
    if (next == NULL) {                                         \
      fprintf(stderr, "vtl: option %s needs a value\n\n", arg); \
      return VtlUsage(NULL);                                    \
    }                                                           \
    ++i;                                                        \
  } while (0)
    if (strcmp(arg, "--root") == 0 || strcmp(arg, "-root") == 0) {
      NEED_VALUE();
      root_path = next;
    } else if (strcmp(arg, "-n") == 0) {
      NEED_VALUE();
      a.name = next;
    } else if (strcmp(arg, "-c") == 0) {
      NEED_VALUE();
      a.file = next;
    } else if (strcmp(arg, "-k") == 0) {
      NEED_VALUE();
      a.key_type = next;
    } else if (strcmp(arg, "-days") == 0) {
      NEED_VALUE();
      if (!VtlParseLong(next, 1, TL_CERT_VALIDITY_MAX_DAYS, &a.days)) {
        fprintf(stderr, "vtl: error: -days %s: give 1 to %d days (20 years)\n",
                next, TL_CERT_VALIDITY_MAX_DAYS);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-p") == 0) {
      NEED_VALUE();
      if (!VtlParseLong(next, 1, 65535, &a.port)) {
        fprintf(
            stderr,
            "vtl: error: -p %s: a port is 1 to 65535 (NTLS listens on %d)\n",
            next, TL_DEFAULT_SERVER_PORT);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-htl") == 0) {
      a.htl = 1;
    } else if (strcmp(arg, "-force") == 0) {
      a.force = 1;
    } else if (strcmp(arg, "-replace") == 0) {
      a.replace = 1;
    } else if (strcmp(arg, "-repair") == 0) {
      a.repair = 1;
    } else if (strcmp(arg, "-local") == 0) {
      a.local = 1;
    } else if (strcmp(arg, "-timeout") == 0) {
      NEED_VALUE();
      if (!VtlParseLong(next, 1, 600000, &a.timeout_ms)) {
        fprintf(stderr,
                "vtl: error: -timeout %s: give 1 to 600000 milliseconds\n",
                next);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-slot") == 0) {
      NEED_VALUE();
      if (!VtlParseLong(next, 0, 0x7fffffffL, &a.slot)) {
        fprintf(stderr,
                "vtl: error: -slot %s: a slot number from vtl listSlots\n",
                next);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-op") == 0) {
      NEED_VALUE();
      a.op = next;
    } else if (strcmp(arg, "-data") == 0) {
      NEED_VALUE();
      a.data = next;
    } else if (strcmp(arg, "-count") == 0) {
      NEED_VALUE();
      if (!VtlParseLong(next, 1, 100000000L, &a.count)) {
        fprintf(stderr, "vtl: error: -count %s: give 1 to 100000000\n", next);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "help") == 0 || strcmp(arg, "-h") == 0 ||
               strcmp(arg, "--help") == 0) {
      fputs(kUsage, stdout);
      return kExitOk;
    } else if (arg[0] == '-') {
      fprintf(stderr, "vtl: unknown option %s\n\n", arg);
      return VtlUsage(NULL);
    } else if (command == NULL && strcmp(arg, "p11") == 0) {
      return VtlP11Main(root_path, argc - i - 1, argv + i + 1);
    } else if (command == NULL) {
      command = arg;
    } else {
      fprintf(stderr, "vtl: unexpected argument %s\n\n", arg);
      return VtlUsage(NULL);
    }
#undef NEED_VALUE
  }
  if (command == NULL) return VtlUsage("no command given");
  int create = strcmp(command, "createCert") == 0 ||
               strcmp(command, "addServer") == 0 ||
               strcmp(command, "importConfig") == 0;
  int known = create || strcmp(command, "deleteServer") == 0 ||
              strcmp(command, "listServers") == 0 ||
              strcmp(command, "show") == 0 || strcmp(command, "verify") == 0 ||
              strcmp(command, "listSlots") == 0 || strcmp(command, "call") == 0;
  if (!known) {
    fprintf(stderr, "vtl: unknown command %s\n\n", command);
    return VtlUsage(NULL);
  }
  tl_client_root *root = NULL;
  if (tl_client_root_new(&root) != TL_OK) return kExitSystem;
  tl_status s = tl_client_root_open(root, root_path, create);
  int rc;
  if (s != TL_OK) {
    rc = VtlFail(root, s);
    if (s == TL_E_NOT_FOUND) {
      /* The library's message names API fixes; the command-line ones are ours. */
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
    rc = VtlCmdListServers(root);
  } else if (strcmp(command, "show") == 0) {
    rc = VtlCmdShow(root);
  } else if (strcmp(command, "verify") == 0) {
    rc = VtlCmdVerify(root, &a);
  } else if (strcmp(command, "listSlots") == 0) {
    rc = VtlCmdListSlots(root);
  } else if (strcmp(command, "call") == 0) {
    rc = VtlCmdCall(root, &a);
  } else {
    rc = VtlCmdImportConfig(root, &a);
  }
  tl_client_root_free(root);
  return rc;
}
