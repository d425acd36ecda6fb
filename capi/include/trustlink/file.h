/* trustlink/file.h: reading a file a user names (a certificate to register, a
 * Chrystoki.conf to import) the way the library reads its own files: bounded
 * and typed, so a FIFO, /dev/zero or a huge file is refused at once with a
 * clear error instead of hanging the tool or exhausting its memory.
 *
 * Include <trustlink/trustlink.h> rather than this file. */
#ifndef TRUSTLINK_FILE_H_
#define TRUSTLINK_FILE_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TL_FILE_NOFOLLOW makes tl_file_read refuse a symlink as the path's last
 * component, for files under a root trustlink promises never to follow links
 * in (ntlsh's incoming/<name>.pem). */
#define TL_FILE_NOFOLLOW 1

/* TL_FILE_PRIVATE_KEY makes tl_file_read refuse a private key that group or
 * others have any permission on (checked on the open descriptor) with
 * TL_E_KEY_PERMISSIONS and a message naming the file, its mode and the chmod
 * that fixes it: the rule the library applies to the keys in a root. */
#define TL_FILE_PRIVATE_KEY 2

/* TL_MAX_PEM_FILE_LEN is the buffer size tools give tl_file_read for a
 * certificate, key or configuration file: 1 MiB. */
#define TL_MAX_PEM_FILE_LEN (1024 * 1024)

/* tl_max_pem_file_len returns TL_MAX_PEM_FILE_LEN, for bindings without a C
 * preprocessor. */
TL_EXPORT size_t tl_max_pem_file_len(void) TL_NOEXCEPT;

/* tl_file_read reads the whole file at `path` into `buf` (the caller's,
 * `buf_len` bytes) and writes its length to *out_len. It does not add a NUL.
 * `flags` is 0 or TL_FILE_NOFOLLOW and/or TL_FILE_PRIVATE_KEY.
 *
 * The file must be a regular file, checked on the open descriptor: a FIFO (it
 * is opened without waiting for a writer), a device such as /dev/zero or a
 * directory is refused at once with TL_E_INVALID_ARGUMENT. A file larger than
 * `buf_len` is refused with TL_E_OUT_OF_RANGE before any of it is read. A
 * missing file is TL_E_NOT_FOUND, a refused symlink or permission
 * TL_E_PERMISSION_DENIED.
 *
 * On failure, when `msg` is not NULL, a message naming the file and the fix is
 * copied into it (NUL-terminated, cut to `msg_len` bytes; TL_ERROR_MESSAGE_MAX
 * always suffices). `buf` and *out_len are written only on success.
 * Thread safety: safe from any thread. */
TL_EXPORT tl_status tl_file_read(const char *path, int32_t flags, char *buf,
                                 size_t buf_len, size_t *out_len, char *msg,
                                 size_t msg_len) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_FILE_H_ */
