/*
 * effect_sockets.c: the native half of effect-sockets.
 *
 * Non-blocking AF_UNIX sockets owned end to end by this addon (libuv's stream reads use
 * plain read(), which makes the kernel discard fds passed with SCM_RIGHTS), plus readiness
 * from a uv_poll_t on Node's own loop. Mechanics only: each function is one syscall (EINTR
 * retried) and returns what the kernel said. "Would block" is a sentinel, never an error;
 * every other failure is thrown as an Error with `code` ("EADDRINUSE"), `errno` (negative,
 * as in Node) and `syscall`. Retries, buffering, fd ownership and typed errors are the
 * TypeScript layer's job (src/internal/addon.ts documents the API).
 *
 * Plain C against node_api.h (NAPI_VERSION 8, set by binding.gyp) and uv.h.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* accept4, MSG_CMSG_CLOEXEC */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

/* Bumped whenever the JS-visible API changes; src/internal/addon.ts refuses a stale build. */
#define API_VERSION 1
/* Upper bound on fds per sendmsg/recvmsg call, to bound allocations (Linux's own limit,
 * SCM_MAX_FD, is 253 and is enforced by the kernel). */
#define MAX_FDS 1024

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: Node ignores SIGPIPE process-wide anyway */
#endif

#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
#define HAVE_SOCK_FLAGS 1 /* socket(..., SOCK_NONBLOCK | SOCK_CLOEXEC) */
#endif
#if defined(__linux__) || defined(__FreeBSD__)
#define HAVE_ACCEPT4 1
#endif

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un*)0)->sun_path)
#define SUN_PATH_OFFSET offsetof(struct sockaddr_un, sun_path)

/* ---------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------- */

static const char* errno_name(int err, char* fallback, size_t size) {
  switch (err) {
#define E(name) case name: return #name;
    E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT)
    E(EEXIST) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOSPC) E(EROFS) E(EPIPE)
    E(ENAMETOOLONG) E(ELOOP) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE)
    E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE)
    E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS)
    E(EISCONN) E(ENOTCONN) E(ETOOMANYREFS) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTUNREACH)
    E(EALREADY) E(EINPROGRESS)
#undef E
    default:
      snprintf(fallback, size, "E%d", err);
      return fallback;
  }
}

/* Throws an Error like Node's system errors: code, errno (negative), syscall. */
static void throw_errno_message(napi_env env, int err, const char* syscall, const char* detail) {
  char fallback[16], message[512];
  const char* name = errno_name(err, fallback, sizeof fallback);
  snprintf(message, sizeof message, "%s: %s, %s", name, detail != NULL ? detail : strerror(err), syscall);
  napi_value code, text, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok ||
      napi_create_int32(env, -err, &errno_value) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall_value) != napi_ok) {
    napi_throw_error(env, name, message);
    return;
  }
  napi_throw(env, error);
}

static napi_value throw_errno(napi_env env, int err, const char* syscall) {
  throw_errno_message(env, err, syscall, NULL);
  return NULL;
}

/* A failed napi_* call: make sure some exception is pending. */
static napi_value throw_napi(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info* info = NULL;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, "ERR_NAPI", info != NULL && info->error_message != NULL ? info->error_message : "Node-API call failed");
  }
  return NULL;
}

#define NAPI(call)                      \
  do {                                  \
    if ((call) != napi_ok) return throw_napi(env); \
  } while (0)

/* A non-blocking call's result for JS: n (a count or an fd), -1 when it would block; any other
   failure is thrown. `err` is the call's errno, read before anything else could change it. */
static napi_value count_or_would_block(napi_env env, ssize_t n, int err, const char* syscall) {
  if (n < 0) {
    if (err != EAGAIN && err != EWOULDBLOCK) return throw_errno(env, err, syscall);
    n = -1;
  }
  napi_value result;
  NAPI(napi_create_int64(env, n, &result));
  return result;
}

/* ---------------------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------------------- */

#define ARGS(n)                                                        \
  size_t argc = (n);                                                   \
  napi_value argv[(n) > 0 ? (n) : 1];                                  \
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));          \
  if (argc < (n)) {                                                    \
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "expected " #n " arguments"); \
    return NULL;                                                       \
  }

static bool arg_int(napi_env env, napi_value value, const char* name, int32_t* out) {
  napi_valuetype type;
  double d;
  char message[128];
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  napi_get_value_double(env, value, &d);
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(int32_t)d) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a 32-bit integer", name);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  *out = (int32_t)d;
  return true;
}

static bool arg_bool(napi_env env, napi_value value, const char* name, bool* out) {
  char message[128];
  if (napi_get_value_bool(env, value, out) != napi_ok) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a boolean", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  return true;
}

/* A Uint8Array (Buffer included). */
static bool arg_bytes(napi_env env, napi_value value, const char* name, uint8_t** data, size_t* length) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  void* pointer = NULL;
  char message[128];
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, length, &pointer, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a Buffer or Uint8Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  *data = pointer;
  return true;
}

/* buf, offset, length -> a checked slice of buf. */
static bool arg_slice(napi_env env, napi_value* argv, uint8_t** data, size_t* length) {
  uint8_t* bytes;
  size_t size;
  int32_t offset, count;
  if (!arg_bytes(env, argv[0], "buffer", &bytes, &size) || !arg_int(env, argv[1], "offset", &offset) ||
      !arg_int(env, argv[2], "length", &count))
    return false;
  if (offset < 0 || count < 0 || (size_t)offset > size || (size_t)count > size - (size_t)offset) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset and length must lie within the buffer");
    return false;
  }
  *data = bytes + offset;
  *length = (size_t)count;
  return true;
}

/*
 * A path Buffer -> sockaddr_un. Never truncates: a pathname takes at most SUN_PATH_SIZE - 1
 * bytes (it needs its NUL), an abstract name (Linux; leading 0 byte, exact length) at most
 * SUN_PATH_SIZE. An empty Buffer gives an address with no path (bind: Linux autobind).
 */
static bool arg_address(napi_env env, napi_value value, const char* syscall, struct sockaddr_un* address,
                        socklen_t* length) {
  uint8_t* path;
  size_t size;
  char detail[160];
  if (!arg_bytes(env, value, "path", &path, &size)) return false;
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (size == 0) {
    *length = (socklen_t)SUN_PATH_OFFSET;
    return true;
  }
  bool abstract = path[0] == 0;
  size_t limit = abstract ? SUN_PATH_SIZE : SUN_PATH_SIZE - 1;
  if (size > limit) {
    snprintf(detail, sizeof detail, "UNIX socket %s is %zu bytes, the limit is %zu",
             abstract ? "abstract name" : "path", size, limit);
    throw_errno_message(env, ENAMETOOLONG, syscall, detail);
    return false;
  }
  if (!abstract && memchr(path, 0, size) != NULL) {
    throw_errno_message(env, EINVAL, syscall, "UNIX socket path contains a NUL byte");
    return false;
  }
  memcpy(address->sun_path, path, size);
  *length = (socklen_t)(SUN_PATH_OFFSET + size + (abstract ? 0 : 1));
  return true;
}

/* sockaddr_un from the kernel -> its path bytes (abstract names keep their 0 byte). */
static size_t address_path_length(const struct sockaddr_un* address, socklen_t length) {
  if (length <= (socklen_t)SUN_PATH_OFFSET) return 0;
  size_t size = (size_t)length - SUN_PATH_OFFSET;
  if (size > SUN_PATH_SIZE) size = SUN_PATH_SIZE;
#ifdef __linux__
  if (address->sun_path[0] == 0) return size; /* abstract */
#endif
  return strnlen(address->sun_path, size);
}

static napi_value make_buffer(napi_env env, const void* data, size_t length) {
  napi_value buffer;
  NAPI(napi_create_buffer_copy(env, length, length > 0 ? data : "", NULL, &buffer));
  return buffer;
}

/* ---------------------------------------------------------------------------------------
 * Sockets
 * ------------------------------------------------------------------------------------- */

#if !defined(HAVE_SOCK_FLAGS) || !defined(HAVE_ACCEPT4)
/* Where the platform has no atomic flags (macOS), set them right after creation. */
static int set_fd_flags(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return -1;
  return 0;
}
#endif

static bool arg_socket_type(napi_env env, napi_value value, int* type) {
  char name[8] = {0};
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, name, sizeof name, &length) == napi_ok) {
    if (strcmp(name, "stream") == 0) { *type = SOCK_STREAM; return true; }
    if (strcmp(name, "dgram") == 0) { *type = SOCK_DGRAM; return true; }
  }
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "The \"type\" argument must be \"stream\" or \"dgram\"");
  return false;
}

static napi_value js_socket(napi_env env, napi_callback_info info) {
  ARGS(1);
  int type, fd;
  if (!arg_socket_type(env, argv[0], &type)) return NULL;
#ifdef HAVE_SOCK_FLAGS
  fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
#else
  fd = socket(AF_UNIX, type, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (set_fd_flags(fd) < 0) { int err = errno; close(fd); return throw_errno(env, err, "fcntl"); }
#endif
  napi_value result;
  NAPI(napi_create_int32(env, fd, &result));
  return result;
}

static napi_value js_socketpair(napi_env env, napi_callback_info info) {
  ARGS(1);
  int type, fds[2];
  if (!arg_socket_type(env, argv[0], &type)) return NULL;
#ifdef HAVE_SOCK_FLAGS
  if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) return throw_errno(env, errno, "socketpair");
#else
  if (socketpair(AF_UNIX, type, 0, fds) < 0) return throw_errno(env, errno, "socketpair");
  if (set_fd_flags(fds[0]) < 0 || set_fd_flags(fds[1]) < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return throw_errno(env, err, "fcntl");
  }
#endif
  napi_value result, a, b;
  if (napi_create_array_with_length(env, 2, &result) != napi_ok || napi_create_int32(env, fds[0], &a) != napi_ok ||
      napi_create_int32(env, fds[1], &b) != napi_ok || napi_set_element(env, result, 0, a) != napi_ok ||
      napi_set_element(env, result, 1, b) != napi_ok) {
    close(fds[0]);
    close(fds[1]);
    return throw_napi(env);
  }
  return result;
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t fd;
  struct sockaddr_un address;
  socklen_t length;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_address(env, argv[1], "bind", &address, &length)) return NULL;
  if (bind(fd, (struct sockaddr*)&address, length) < 0) return throw_errno(env, errno, "bind");
  return NULL;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t fd, backlog;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_int(env, argv[1], "backlog", &backlog)) return NULL;
  if (listen(fd, backlog) < 0) return throw_errno(env, errno, "listen");
  return NULL;
}

/*
 * true: connected. false: in progress (EINPROGRESS, or EINTR, after which POSIX says the
 * connection continues): wait for writability, then socketError(). EAGAIN is thrown: on
 * Linux it means the listener's backlog is full and nothing is in progress (the socket
 * would poll writable at once with SO_ERROR 0 while still unconnected): retry connect.
 */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t fd;
  struct sockaddr_un address;
  socklen_t length;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_address(env, argv[1], "connect", &address, &length)) return NULL;
  bool connected = true;
  if (connect(fd, (struct sockaddr*)&address, length) < 0) {
    if (errno != EINPROGRESS && errno != EINTR) return throw_errno(env, errno, "connect");
    connected = false;
  }
  napi_value result;
  NAPI(napi_get_boolean(env, connected, &result));
  return result;
}

/* SO_ERROR: returns 0 when there is no pending error, throws it (syscall "connect") otherwise. */
static napi_value js_socket_error(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  int error = 0;
  socklen_t length = sizeof error;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return throw_errno(env, errno, "getsockopt");
  if (error != 0) return throw_errno(env, error, "connect");
  napi_value result;
  NAPI(napi_create_int32(env, 0, &result));
  return result;
}

/* The new fd, or -1 when no connection is waiting. */
static napi_value js_accept(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  int client;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
#ifdef HAVE_ACCEPT4
  do client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (client < 0 && errno == EINTR);
#else
  do client = accept(fd, NULL, NULL);
  while (client < 0 && errno == EINTR);
  if (client >= 0 && set_fd_flags(client) < 0) { int err = errno; close(client); return throw_errno(env, err, "fcntl"); }
#endif
  return count_or_would_block(env, client, errno, "accept");
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t fd, how;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_int(env, argv[1], "how", &how)) return NULL;
  if (how != 0 && how != 1 && how != 2) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "The \"how\" argument must be 0, 1 or 2");
    return NULL;
  }
  int mode = how == 0 ? SHUT_RD : how == 1 ? SHUT_WR : SHUT_RDWR;
  if (shutdown(fd, mode) < 0) return throw_errno(env, errno, "shutdown");
  return NULL;
}

/* EINTR is not retried: the fd is released anyway (Linux), and a retry could close a reused fd. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

static napi_value name_of(napi_env env, napi_callback_info info, bool peer) {
  ARGS(1);
  int32_t fd;
  struct sockaddr_un address;
  socklen_t length = sizeof address;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  memset(&address, 0, sizeof address);
  int rc = peer ? getpeername(fd, (struct sockaddr*)&address, &length)
                : getsockname(fd, (struct sockaddr*)&address, &length);
  if (rc < 0) return throw_errno(env, errno, peer ? "getpeername" : "getsockname");
  return make_buffer(env, address.sun_path, address_path_length(&address, length));
}

static napi_value js_getsockname(napi_env env, napi_callback_info info) { return name_of(env, info, false); }
static napi_value js_getpeername(napi_env env, napi_callback_info info) { return name_of(env, info, true); }

/* recv(fd, buf, offset, length): bytes read, 0 at EOF (stream), -1 when it would block. */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  ARGS(4);
  int32_t fd;
  uint8_t* data;
  size_t length;
  ssize_t n;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_slice(env, argv + 1, &data, &length)) return NULL;
  do n = recv(fd, data, length, 0);
  while (n < 0 && errno == EINTR);
  return count_or_would_block(env, n, errno, "recv");
}

/* send(fd, buf, offset, length): bytes sent (maybe fewer), -1 when it would block. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  ARGS(4);
  int32_t fd;
  uint8_t* data;
  size_t length;
  ssize_t n;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_slice(env, argv + 1, &data, &length)) return NULL;
  do n = send(fd, data, length, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return count_or_would_block(env, n, errno, "send");
}

/*
 * sendmsg(fd, buf, offset, length, fds, path | null): bytes sent, -1 when it would block.
 * fds travel as one SCM_RIGHTS message with the first byte sent; on a stream socket send at
 * least one byte with them. path: destination of an unconnected datagram socket.
 */
static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  ARGS(6);
  int32_t fd;
  uint8_t* data;
  size_t length;
  uint32_t count = 0;
  bool is_array = false;
  napi_valuetype path_type;
  struct sockaddr_un address;
  socklen_t address_length = 0;

  if (!arg_int(env, argv[0], "fd", &fd) || !arg_slice(env, argv + 1, &data, &length)) return NULL;
  if (napi_is_array(env, argv[4], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"fds\" argument must be an array of numbers");
    return NULL;
  }
  NAPI(napi_get_array_length(env, argv[4], &count));
  if (count > MAX_FDS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "too many fds for one message");
    return NULL;
  }
  NAPI(napi_typeof(env, argv[5], &path_type));
  if (path_type != napi_null && path_type != napi_undefined &&
      !arg_address(env, argv[5], "sendmsg", &address, &address_length))
    return NULL;

  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr message;
  memset(&message, 0, sizeof message);
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (address_length > 0) {
    message.msg_name = &address;
    message.msg_namelen = address_length;
  }

  void* control = NULL;
  if (count > 0) {
    size_t control_size = CMSG_SPACE(count * sizeof(int));
    control = calloc(1, control_size);
    if (control == NULL) return throw_errno(env, ENOMEM, "sendmsg");
    message.msg_control = control;
    message.msg_controllen = control_size;
    struct cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(count * sizeof(int));
    unsigned char* slots = CMSG_DATA(header);
    for (uint32_t i = 0; i < count; i++) {
      napi_value element;
      int32_t one;
      if (napi_get_element(env, argv[4], i, &element) != napi_ok || !arg_int(env, element, "fds[i]", &one)) {
        free(control);
        return throw_napi(env);
      }
      memcpy(slots + i * sizeof(int), &one, sizeof(int));
    }
  }

  ssize_t n;
  do n = sendmsg(fd, &message, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  int err = errno;
  free(control);
  return count_or_would_block(env, n, err, "sendmsg");
}

static void close_all(const int* fds, size_t count) {
  for (size_t i = 0; i < count; i++) close(fds[i]);
}

/*
 * recvmsg(fd, buf, offset, length, maxFds): null when it would block, else
 * { bytes, fds, truncated (MSG_TRUNC), controlTruncated (MSG_CTRUNC), address }.
 * Received fds are close-on-exec. The control buffer is sized for maxFds fds (CMSG_LEN); on
 * MSG_CTRUNC the kernel has closed the fds that did not fit and the ones that did are
 * returned: the caller owns (and must close) every fd returned, even beyond maxFds should a
 * platform round the buffer up. address: the sending socket's bound name, null if unnamed.
 */
static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  ARGS(5);
  int32_t fd, max_fds;
  uint8_t* data;
  size_t length;
  struct sockaddr_un address;

  if (!arg_int(env, argv[0], "fd", &fd) || !arg_slice(env, argv + 1, &data, &length) ||
      !arg_int(env, argv[4], "maxFds", &max_fds))
    return NULL;
  if (max_fds < 0 || max_fds > MAX_FDS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "The \"maxFds\" argument must be from 0 to 1024");
    return NULL;
  }

  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr message;
  memset(&message, 0, sizeof message);
  memset(&address, 0, sizeof address);
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_name = &address;
  message.msg_namelen = sizeof address;

  void* control = NULL;
  int* fds = NULL;
  size_t capacity = 0; /* fds the control buffer could possibly hold */
  if (max_fds > 0) {
    size_t control_size = CMSG_SPACE((size_t)max_fds * sizeof(int));
    capacity = control_size / sizeof(int);
    control = calloc(1, control_size);
    fds = calloc(capacity, sizeof(int));
    if (control == NULL || fds == NULL) {
      free(control);
      free(fds);
      return throw_errno(env, ENOMEM, "recvmsg");
    }
    message.msg_control = control;
    message.msg_controllen = CMSG_LEN((size_t)max_fds * sizeof(int));
  }

  int flags = 0;
#ifdef MSG_CMSG_CLOEXEC
  flags |= MSG_CMSG_CLOEXEC;
#endif
  ssize_t n;
  do n = recvmsg(fd, &message, flags);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    free(control);
    free(fds);
    if (err != EAGAIN && err != EWOULDBLOCK) return throw_errno(env, err, "recvmsg");
    napi_value null_value;
    NAPI(napi_get_null(env, &null_value));
    return null_value;
  }

  /* Collect every SCM_RIGHTS fd, never reading past the control buffer. */
  size_t received = 0;
  if (control != NULL) {
    for (struct cmsghdr* header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
      if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
      unsigned char* start = CMSG_DATA(header);
      unsigned char* end = (unsigned char*)header + header->cmsg_len;
      unsigned char* limit = (unsigned char*)control + message.msg_controllen;
      if (end > limit) end = limit;
      for (unsigned char* slot = start; slot + sizeof(int) <= end && received < capacity; slot += sizeof(int)) {
        memcpy(&fds[received++], slot, sizeof(int));
      }
    }
  }
  free(control);
#ifndef MSG_CMSG_CLOEXEC
  for (size_t i = 0; i < received; i++) fcntl(fds[i], F_SETFD, FD_CLOEXEC);
#endif

  napi_value result, value, list;
  size_t path_length = address_path_length(&address, message.msg_namelen);
  if (napi_create_object(env, &result) != napi_ok || napi_create_int64(env, n, &value) != napi_ok ||
      napi_set_named_property(env, result, "bytes", value) != napi_ok ||
      napi_create_array_with_length(env, received, &list) != napi_ok)
    goto fail;
  for (size_t i = 0; i < received; i++) {
    if (napi_create_int32(env, fds[i], &value) != napi_ok || napi_set_element(env, list, (uint32_t)i, value) != napi_ok)
      goto fail;
  }
  if (napi_set_named_property(env, result, "fds", list) != napi_ok ||
      napi_get_boolean(env, (message.msg_flags & MSG_TRUNC) != 0, &value) != napi_ok ||
      napi_set_named_property(env, result, "truncated", value) != napi_ok ||
      napi_get_boolean(env, (message.msg_flags & MSG_CTRUNC) != 0, &value) != napi_ok ||
      napi_set_named_property(env, result, "controlTruncated", value) != napi_ok)
    goto fail;
  if (path_length == 0) {
    if (napi_get_null(env, &value) != napi_ok) goto fail;
  } else if (napi_create_buffer_copy(env, path_length, address.sun_path, NULL, &value) != napi_ok) {
    goto fail;
  }
  if (napi_set_named_property(env, result, "address", value) != napi_ok) goto fail;
  free(fds);
  return result;

fail:
  close_all(fds, received); /* nobody else can own them now */
  free(fds);
  return throw_napi(env);
}

static napi_value js_getsockopt_int(napi_env env, napi_callback_info info) {
  ARGS(3);
  int32_t fd, level, name;
  int value = 0;
  socklen_t length = sizeof value;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_int(env, argv[1], "level", &level) ||
      !arg_int(env, argv[2], "name", &name))
    return NULL;
  if (getsockopt(fd, level, name, &value, &length) < 0) return throw_errno(env, errno, "getsockopt");
  napi_value result;
  NAPI(napi_create_int32(env, value, &result));
  return result;
}

static napi_value js_setsockopt_int(napi_env env, napi_callback_info info) {
  ARGS(4);
  int32_t fd, level, name, value;
  if (!arg_int(env, argv[0], "fd", &fd) || !arg_int(env, argv[1], "level", &level) ||
      !arg_int(env, argv[2], "name", &name) || !arg_int(env, argv[3], "value", &value))
    return NULL;
  int option = value;
  if (setsockopt(fd, level, name, &option, sizeof option) < 0) return throw_errno(env, errno, "setsockopt");
  return NULL;
}

/* The connected peer's credentials as the kernel recorded them at connect (or socketpair):
 * { pid, uid, gid }. Linux: SO_PEERCRED. Elsewhere: getpeereid (pid from LOCAL_PEERPID where
 * it exists, else -1). */
static napi_value js_peer_credentials(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  int64_t pid, uid, gid;
#ifdef SO_PEERCRED
  struct ucred credentials;
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) return throw_errno(env, errno, "getsockopt");
  pid = credentials.pid;
  uid = credentials.uid;
  gid = credentials.gid;
#else
  uid_t peer_uid;
  gid_t peer_gid;
  if (getpeereid(fd, &peer_uid, &peer_gid) < 0) return throw_errno(env, errno, "getpeereid");
  uid = peer_uid;
  gid = peer_gid;
  pid = -1;
#ifdef LOCAL_PEERPID
  pid_t peer_pid;
  socklen_t pid_length = sizeof peer_pid;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &peer_pid, &pid_length) == 0) pid = peer_pid;
#endif
#endif
  napi_value result, value;
  NAPI(napi_create_object(env, &result));
  NAPI(napi_create_int64(env, pid, &value));
  NAPI(napi_set_named_property(env, result, "pid", value));
  NAPI(napi_create_int64(env, uid, &value));
  NAPI(napi_set_named_property(env, result, "uid", value));
  NAPI(napi_create_int64(env, gid, &value));
  NAPI(napi_set_named_property(env, result, "gid", value));
  return result;
}

/* O_NONBLOCK and FD_CLOEXEC on an fd made elsewhere (adopted sockets). */
static napi_value js_set_nonblocking(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return throw_errno(env, errno, "fcntl");
  int fd_flags = fcntl(fd, F_GETFD);
  if (fd_flags < 0 || fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) < 0) return throw_errno(env, errno, "fcntl");
  return NULL;
}

/* fstat: "socket" | "file" (regular file) | "other" | "invalid" (EBADF). */
static napi_value js_fd_type(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  struct stat status;
  const char* kind;
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (fstat(fd, &status) < 0) {
    if (errno != EBADF) return throw_errno(env, errno, "fstat");
    kind = "invalid";
  } else {
    kind = S_ISSOCK(status.st_mode) ? "socket" : S_ISREG(status.st_mode) ? "file" : "other";
  }
  napi_value result;
  NAPI(napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &result));
  return result;
}

/* ---------------------------------------------------------------------------------------
 * Poller: a uv_poll_t on Node's loop.
 *
 * Ownership: the struct is shared by the JS wrapper (until close() or its finalizer) and by
 * libuv (until the uv_close callback); it is freed when both have let go. While started, a
 * strong reference keeps the JS object (and through it the callback, stored on the object
 * as the hidden property "callback") alive; stopped, the object may be collected, and its
 * finalizer closes the handle. An async cleanup hook closes it when the environment exits
 * (worker termination, process exit) and makes Node wait for the uv_close callback: without
 * it, a worker can unload this library before that callback runs. The JS callback is never
 * called after close(). JS must close the fd only after close(): uv_poll_stop and uv_close
 * tell epoll to forget the fd *number*, which must not have been reused by then.
 * ------------------------------------------------------------------------------------- */

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref self;              /* 1 while started, 0 otherwise; NULL once the JS side let go */
  napi_async_context context; /* for napi_make_callback */
  napi_async_cleanup_hook_handle cleanup; /* registered until the uv_close callback */
  bool started;
  bool closing; /* uv_close called */
  int owners;   /* JS wrapper + libuv */
} poller_t;

static void poller_release(poller_t* poller) {
  if (--poller->owners == 0) free(poller);
}

static void on_poller_closed(uv_handle_t* handle) {
  poller_t* poller = handle->data;
  if (poller->cleanup != NULL) {
    napi_remove_async_cleanup_hook(poller->cleanup); /* lets a waiting teardown proceed */
    poller->cleanup = NULL;
  }
  poller_release(poller);
}

/* The environment is exiting: close the handle now; the finalizer releases the rest. */
static void on_environment_exit(napi_async_cleanup_hook_handle handle, void* data) {
  poller_t* poller = data;
  (void)handle; /* == poller->cleanup, removed in on_poller_closed */
  if (!poller->closing) {
    poller->closing = true;
    uv_close((uv_handle_t*)&poller->handle, on_poller_closed);
  }
}

/* The JS side lets go: drop its references, close the handle if nobody did. */
static void poller_detach(napi_env env, poller_t* poller) {
  if (poller->self != NULL) {
    napi_delete_reference(env, poller->self);
    poller->self = NULL;
  }
  if (poller->context != NULL) {
    napi_async_destroy(env, poller->context);
    poller->context = NULL;
  }
  poller->started = false;
  if (!poller->closing) {
    poller->closing = true;
    uv_close((uv_handle_t*)&poller->handle, on_poller_closed);
  }
  poller_release(poller);
}

static void poller_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  poller_detach(env, data);
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  poller_t* poller = handle->data;
  napi_env env = poller->env;
  napi_handle_scope scope;
  napi_value self = NULL, callback, argv[3], ignored;

  if (poller->closing || poller->self == NULL) return;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_reference_value(env, poller->self, &self); /* held by the scope from here on */
  if (status < 0) {
    /* libuv reports POLLERR as UV_EBADF and has stopped the handle: record that. */
    uv_poll_stop(handle);
    if (poller->started) {
      poller->started = false;
      napi_reference_unref(env, poller->self, NULL);
    }
  }
  if (self != NULL && napi_get_named_property(env, self, "callback", &callback) == napi_ok &&
      napi_create_int32(env, status, &argv[0]) == napi_ok &&
      napi_get_boolean(env, (events & UV_READABLE) != 0, &argv[1]) == napi_ok &&
      napi_get_boolean(env, (events & UV_WRITABLE) != 0, &argv[2]) == napi_ok) {
    napi_make_callback(env, poller->context, self, callback, 3, argv, &ignored);
  }
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

/* new Poller(fd, callback) */
static napi_value poller_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self, target, name;
  napi_valuetype type;
  int32_t fd;
  uv_loop_t* loop;

  NAPI(napi_get_new_target(env, info, &target));
  if (target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "Poller must be called with new");
    return NULL;
  }
  NAPI(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "expected 2 arguments");
    return NULL;
  }
  if (!arg_int(env, argv[0], "fd", &fd)) return NULL;
  NAPI(napi_typeof(env, argv[1], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"callback\" argument must be a function");
    return NULL;
  }
  napi_property_descriptor property = {"callback", NULL, NULL, NULL, NULL, argv[1], napi_default, NULL};
  NAPI(napi_define_properties(env, self, 1, &property));
  NAPI(napi_get_uv_event_loop(env, &loop));
  NAPI(napi_create_string_utf8(env, "effect-sockets:Poller", NAPI_AUTO_LENGTH, &name));

  poller_t* poller = calloc(1, sizeof *poller);
  if (poller == NULL) return throw_errno(env, ENOMEM, "calloc");
  poller->env = env;
  poller->handle.data = poller;
  if (napi_async_init(env, self, name, &poller->context) != napi_ok) {
    free(poller);
    return throw_napi(env);
  }
  if (napi_create_reference(env, self, 0, &poller->self) != napi_ok) {
    napi_async_destroy(env, poller->context);
    free(poller);
    return throw_napi(env);
  }
  int rc = uv_poll_init(loop, &poller->handle, fd);
  if (rc < 0) {
    napi_delete_reference(env, poller->self);
    napi_async_destroy(env, poller->context);
    free(poller);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  poller->owners = 2;
  if (napi_add_async_cleanup_hook(env, on_environment_exit, poller, &poller->cleanup) != napi_ok ||
      napi_wrap(env, self, poller, poller_finalize, NULL, NULL) != napi_ok) {
    poller_detach(env, poller);
    return throw_napi(env);
  }
  return self;
}

static poller_t* poller_this(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, napi_value* self) {
  void* data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, self, NULL) != napi_ok) {
    throw_napi(env);
    return NULL;
  }
  if (napi_unwrap(env, *self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, "ERR_POLLER_CLOSED", "Poller is closed");
    return NULL;
  }
  return data;
}

static void poller_stop(napi_env env, poller_t* poller) {
  uv_poll_stop(&poller->handle);
  if (poller->started) {
    poller->started = false;
    napi_reference_unref(env, poller->self, NULL);
  }
}

/* start(readable, writable): (re)arms the handle; start(false, false) stops it. */
static napi_value poller_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL}, self;
  bool readable, writable;
  poller_t* poller = poller_this(env, info, &argc, argv, &self);
  if (poller == NULL) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "expected 2 arguments");
    return NULL;
  }
  if (!arg_bool(env, argv[0], "readable", &readable) || !arg_bool(env, argv[1], "writable", &writable)) return NULL;
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  if (events == 0) {
    poller_stop(env, poller);
    return NULL;
  }
  int rc = uv_poll_start(&poller->handle, events, on_poll);
  if (rc < 0) return throw_errno(env, -rc, "uv_poll_start");
  if (!poller->started) {
    poller->started = true;
    NAPI(napi_reference_ref(env, poller->self, NULL));
  }
  return NULL;
}

static napi_value poller_stop_js(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  poller_t* poller = poller_this(env, info, &argc, NULL, &self);
  if (poller == NULL) return NULL;
  poller_stop(env, poller);
  return NULL;
}

/* close(): idempotent. No callback after it; the fd stays open (JS closes it afterwards). */
static napi_value poller_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  void* data = NULL;
  NAPI(napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  if (napi_remove_wrap(env, self, &data) != napi_ok || data == NULL) return NULL; /* already closed */
  poller_detach(env, data);
  return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Module
 * ------------------------------------------------------------------------------------- */

static bool set_int(napi_env env, napi_value object, const char* name, int value) {
  napi_value number;
  return napi_create_int32(env, value, &number) == napi_ok && napi_set_named_property(env, object, name, number) == napi_ok;
}

#ifdef SO_DOMAIN
#define SO_DOMAIN_OR_MINUS_1 SO_DOMAIN
#else
#define SO_DOMAIN_OR_MINUS_1 (-1) /* not on macOS: the family comes from getsockname there */
#endif

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
      FN("socket", js_socket),
      FN("socketpair", js_socketpair),
      FN("bind", js_bind),
      FN("listen", js_listen),
      FN("connect", js_connect),
      FN("socketError", js_socket_error),
      FN("accept", js_accept),
      FN("shutdown", js_shutdown),
      FN("close", js_close),
      FN("getsockname", js_getsockname),
      FN("getpeername", js_getpeername),
      FN("recv", js_recv),
      FN("send", js_send),
      FN("sendmsg", js_sendmsg),
      FN("recvmsg", js_recvmsg),
      FN("getsockoptInt", js_getsockopt_int),
      FN("setsockoptInt", js_setsockopt_int),
      FN("fdType", js_fd_type),
      FN("peerCredentials", js_peer_credentials),
      FN("setNonBlocking", js_set_nonblocking),
#undef FN
  };
  napi_property_descriptor methods[] = {
      {"start", NULL, poller_start, NULL, NULL, NULL, napi_default_method, NULL},
      {"stop", NULL, poller_stop_js, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, poller_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value poller_class, constants;

  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok ||
      napi_define_class(env, "Poller", NAPI_AUTO_LENGTH, poller_new, NULL, sizeof methods / sizeof methods[0], methods,
                        &poller_class) != napi_ok ||
      napi_set_named_property(env, exports, "Poller", poller_class) != napi_ok ||
      napi_create_object(env, &constants) != napi_ok || !set_int(env, constants, "SOL_SOCKET", SOL_SOCKET) ||
      !set_int(env, constants, "SO_RCVBUF", SO_RCVBUF) || !set_int(env, constants, "SO_SNDBUF", SO_SNDBUF) ||
      !set_int(env, constants, "SO_TYPE", SO_TYPE) || !set_int(env, constants, "SO_ERROR", SO_ERROR) ||
      !set_int(env, constants, "SOCK_STREAM", SOCK_STREAM) || !set_int(env, constants, "SOCK_DGRAM", SOCK_DGRAM) ||
      !set_int(env, constants, "SUN_PATH_SIZE", (int)SUN_PATH_SIZE) ||
      !set_int(env, constants, "SO_DOMAIN", SO_DOMAIN_OR_MINUS_1) ||
      !set_int(env, constants, "SO_ACCEPTCONN", SO_ACCEPTCONN) || !set_int(env, constants, "AF_UNIX", AF_UNIX) ||
      !set_int(env, constants, "AF_INET", AF_INET) || !set_int(env, constants, "AF_INET6", AF_INET6) ||
      napi_object_freeze(env, constants) != napi_ok ||
      napi_set_named_property(env, exports, "constants", constants) != napi_ok ||
      !set_int(env, exports, "apiVersion", API_VERSION))
    return throw_napi(env);
  return exports;
}
