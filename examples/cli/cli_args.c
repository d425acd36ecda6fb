/* cli_args: see cli_args.h. */
#include "examples/cli/cli_args.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "trustlink/trustlink.h"

int CliWordIs(const char *word, const char *expected) {
  return word != NULL && strcasecmp(word, expected) == 0;
}

const char *CliOptionName(const char *arg, char *buf, unsigned long len) {
  if (arg == NULL || arg[0] != '-') return NULL;
  const char *name = arg + (arg[1] == '-' ? 2 : 1);
  size_t n = strcspn(name, "=");
  if (n == 0 || n + 1 > len) return NULL;
  memcpy(buf, name, n);
  buf[n] = '\0';
  return buf;
}

int CliTakeOption(int argc, char **argv, int *i, const char *name,
                  int takes_value, const char **value) {
  char buf[64];
  const char *arg = argv[*i];
  const char *given = CliOptionName(arg, buf, sizeof(buf));
  if (given == NULL || !CliWordIs(given, name)) return 0;
  const char *eq = strchr(arg, '=');
  if (!takes_value) {
    *value = NULL;
    return eq == NULL ? 1 : -1;
  }
  if (eq != NULL) {
    *value = eq + 1;
    return 1;
  }
  if (*i + 1 >= argc) return -1;
  *value = argv[++*i];
  return 1;
}

int CliIsHelp(const char *arg) {
  return CliWordIs(arg, "--help") || CliWordIs(arg, "-help") ||
         strcmp(arg, "-h") == 0 || CliWordIs(arg, "help") ||
         strcmp(arg, "?") == 0;
}

int CliIsVersion(const char *arg) {
  return CliWordIs(arg, "--version") || CliWordIs(arg, "-version");
}

void CliPrintVersion(const char *program) {
  printf("%s (trustlink) %s\n", program, tl_version_string());
}
