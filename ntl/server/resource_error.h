#ifndef TRUSTLINK_NTL_SERVER_RESOURCE_ERROR_H_
#define TRUSTLINK_NTL_SERVER_RESOURCE_ERROR_H_

// The cause of a failed system call that makes a descriptor or kernel object
// (a timerfd, an epoll registration), named from its errno with what to do
// about it: out of descriptors and out of memory want different fixes, and
// advice for the wrong one sends an operator after the wrong limit.

#include <cstddef>
#include <string>

namespace trustlink::ntl::server {

// ResourceErrorCause is "<strerror(error)>" followed, for EMFILE, ENFILE,
// ENOMEM and ENOBUFS, by the limit that was reached and how to raise it.
// `descriptor_limit` is the process's RLIMIT_NOFILE (0: unknown).
std::string ResourceErrorCause(int error, size_t descriptor_limit);

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_RESOURCE_ERROR_H_
