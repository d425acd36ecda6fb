/* vtl p11: partitions as PKCS#11 slots through p11-kit (docs/pkcs11.md). */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_P11_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_P11_H_

/* VtlP11Main runs `vtl [--root DIR] p11 SUBCOMMAND [options]`: argv holds the
 * words after "p11". root_path is --root (NULL: $TRUSTLINK_CLIENT_ROOT or the
 * default). Returns vtl's exit code. */
int VtlP11Main(const char *root_path, int argc, char **argv);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_P11_H_ */
