/* cli_args: the command-line conventions every example program (vtl, ntlsh,
 * ntlsd, htlclient) shares, in one C parser that the C and the C++ programs
 * both call, so that they cannot drift apart:
 *
 *   - an option is accepted as -name, --name, -name=VALUE or --name=VALUE
 *     (so --root DIR, --root=DIR and -root DIR are one option);
 *   - command words and option names are compared without regard to letter
 *     case, as the reference product's shells do (createcert, addServer);
 *   - --help (and -h, help) prints the usage on stdout and exits 0;
 *   - --version prints "<program> (trustlink) X.Y.Z" and exits 0;
 *   - a usage error exits CLI_EXIT_USAGE (2) after a message on stderr. */
#ifndef TRUSTLINK_EXAMPLES_CLI_CLI_ARGS_H_
#define TRUSTLINK_EXAMPLES_CLI_CLI_ARGS_H_

#ifdef __cplusplus
extern "C" {
#endif

/* The exit status of a usage error (unknown command or option, missing
 * value), the same in all four programs. */
#define CLI_EXIT_USAGE 2

/* CliWordIs reports whether word is the command word or option name
 * expected, ignoring letter case. */
int CliWordIs(const char *word, const char *expected);

/* CliOptionName returns the name of the option arg (without its one or two
 * leading dashes and without any "=VALUE"), written to buf (len bytes), or
 * NULL if arg is not an option (no leading dash, or just "-"/"--"). */
const char *CliOptionName(const char *arg, char *buf, unsigned long len);

/* CliTakeOption matches argv[*i] against the option name (without dashes).
 * Returns 0 when it is another argument. Returns 1 when it matches: for an
 * option that takes a value (takes_value non-zero), *value is the text after
 * '=' or the next argument (and *i is advanced past it); for a switch,
 * *value is NULL. Returns -1 when it matches but the value is missing, or a
 * switch was given "=VALUE"; the caller reports a usage error. */
int CliTakeOption(int argc, char **argv, int *i, const char *name,
                  int takes_value, const char **value);

/* CliIsHelp reports whether arg asks for the usage (--help, -help, -h, help,
 * ?). CliIsVersion reports whether it asks for the version (--version,
 * -version). */
int CliIsHelp(const char *arg);
int CliIsVersion(const char *arg);

/* CliPrintVersion prints "<program> (trustlink) <library version>" on
 * stdout. */
void CliPrintVersion(const char *program);

#ifdef __cplusplus
}
#endif

#endif /* TRUSTLINK_EXAMPLES_CLI_CLI_ARGS_H_ */
