/*
 * carpenter raw-socket addon: the only C in carpd.
 *
 * Plain Node-API (NAPI_VERSION 8, so one .node loads in Node 20 and Node 22),
 * built without node-gyp:
 *
 *   cc -shared -fPIC -O2 -I node_modules/node-api-headers/include raw.c -o raw.node
 *
 * (src/native/build.ts does exactly that.) Everything here is a thin mapping
 * of one system call; packet formats, checksums and all protocol logic live in
 * TypeScript (src/native/raw.ts and src/agent/proto).
 *
 * Event-loop integration: sockets are non-blocking and readiness is watched
 * with a libuv poll handle on Node's own loop (napi_get_uv_event_loop). The
 * poll callback only tells JS "readable"; JS then drains with recv() until it
 * returns null (EAGAIN). No extra threads, nothing ever blocks the loop, and
 * a close from inside the callback is safe (uv_close is deferred).
 *
 * libuv's headers are not shipped by node-api-headers, so the handful of
 * libuv 1.x entry points used are declared below. They are exported by every
 * node binary (also the SEA binary pkg uses), and libuv guarantees ABI
 * stability across 1.x; uv_poll_t is allocated with uv_handle_size() so its
 * layout is never assumed, except that `void *data` is the first field of every
 * handle (documented public API of uv_handle_t).
 *
 * Errors become JS exceptions: Error with message "<syscall>: <strerror>",
 * .code = "EPERM"-style errno name, .errno = number, .syscall = name.
 * Bad arguments throw TypeError.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the libuv 1.x subset (see header comment) ---- */
typedef void (*carp_uv_poll_cb)(void *handle, int status, int events);
typedef void (*carp_uv_close_cb)(void *handle);
extern size_t uv_handle_size(int type);
extern int uv_poll_init(struct uv_loop_s *loop, void *handle, int fd);
extern int uv_poll_start(void *handle, int events, carp_uv_poll_cb cb);
extern int uv_poll_stop(void *handle);
extern void uv_close(void *handle, carp_uv_close_cb cb);
extern void uv_ref(void *handle);
extern void uv_unref(void *handle);
extern const char *uv_strerror(int err);
#define CARP_UV_POLL 8     /* UV_POLL in uv_handle_type */
#define CARP_UV_READABLE 1 /* UV_READABLE */

#define RECV_BUF 65536

/* ---------------------------------------------------------------- helpers */

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) return NULL;                                        \
  } while (0)

static napi_value make_errno_error(napi_env env, int err, const char *syscall) {
  char msg[256];
  const char *name = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value code, message, error, num, sc;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, make_errno_error(env, err, syscall));
  return NULL;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* Fetch argv with an exact minimum count. */
static int get_args(napi_env env, napi_callback_info info, size_t min, size_t max,
                    napi_value *argv, size_t *argc) {
  size_t n = max;
  if (napi_get_cb_info(env, info, &n, argv, NULL, NULL) != napi_ok) return 0;
  if (n < min) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected at least %zu arguments, got %zu", min, n);
    type_error(env, msg);
    return 0;
  }
  for (size_t i = n; i < max; i++) napi_get_undefined(env, &argv[i]);
  if (argc) *argc = n;
  return 1;
}

static int arg_int(napi_env env, napi_value v, const char *what, int32_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    type_error(env, msg);
    return 0;
  }
  double d;
  napi_get_value_double(env, v, &d);
  if (d != (double)(int32_t)d) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a 32-bit integer", what);
    type_error(env, msg);
    return 0;
  }
  *out = (int32_t)d;
  return 1;
}

static int arg_fd(napi_env env, napi_value v, int *fd) {
  int32_t x;
  if (!arg_int(env, v, "fd", &x)) return 0;
  if (x < 0) {
    type_error(env, "fd must be >= 0");
    return 0;
  }
  *fd = x;
  return 1;
}

static int arg_family(napi_env env, napi_value v, int *family) {
  int32_t x;
  if (!arg_int(env, v, "family", &x)) return 0;
  if (x == 4) *family = AF_INET;
  else if (x == 6) *family = AF_INET6;
  else {
    type_error(env, "family must be 4 or 6");
    return 0;
  }
  return 1;
}

static int arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t size) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    type_error(env, msg);
    return 0;
  }
  size_t len;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len >= size) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s is too long", what);
    type_error(env, msg);
    return 0;
  }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  return 1;
}

static int arg_buffer(napi_env env, napi_value v, const char *what, void **data, size_t *len) {
  bool is;
  napi_is_buffer(env, v, &is);
  if (!is) {
    napi_is_typedarray(env, v, &is);
    if (!is) {
      char msg[96];
      snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
      type_error(env, msg);
      return 0;
    }
    napi_typedarray_type tt;
    size_t n;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, v, &tt, &n, data, &ab, &off);
    if (tt != napi_uint8_array) {
      type_error(env, "buffer must be a Uint8Array");
      return 0;
    }
    *len = n;
    return 1;
  }
  napi_get_buffer_info(env, v, data, len);
  return 1;
}

/* Parse an address of the given family (+ optional scope id) into a sockaddr. */
static int arg_sockaddr(napi_env env, int family, napi_value addr, napi_value scope,
                        struct sockaddr_storage *ss, socklen_t *sl) {
  char text[INET6_ADDRSTRLEN + 1];
  if (!arg_string(env, addr, "address", text, sizeof text)) return 0;
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, text, &sin->sin_addr) != 1) {
      type_error(env, "address is not an IPv4 address");
      return 0;
    }
    *sl = sizeof *sin;
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
      type_error(env, "address is not an IPv6 address");
      return 0;
    }
    napi_valuetype t;
    napi_typeof(env, scope, &t);
    if (t != napi_undefined && t != napi_null) {
      int32_t s;
      if (!arg_int(env, scope, "scopeId", &s)) return 0;
      sin6->sin6_scope_id = (uint32_t)s;
    }
    *sl = sizeof *sin6;
  }
  return 1;
}

static napi_value addr_string(napi_env env, int family, const void *a) {
  char text[INET6_ADDRSTRLEN];
  napi_value v;
  if (!inet_ntop(family, a, text, sizeof text)) text[0] = 0;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  return v;
}

static int setopt_int(int fd, int level, int opt, int value) {
  return setsockopt(fd, level, opt, &value, sizeof value);
}

/* ----------------------------------------------------------------- sockets */

/* socket(family: 4|6, protocol: number): fd
 * Raw, non-blocking, close-on-exec; turns on the ancillary data recv() reports
 * (IPv4: IP_PKTINFO, IP_RECVTTL; IPv6: IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT). */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int family;
  int32_t proto;
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  if (!arg_family(env, argv[0], &family)) return NULL;
  if (!arg_int(env, argv[1], "protocol", &proto)) return NULL;
  if (proto <= 0 || proto > 255) return type_error(env, "protocol must be 1..255");
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int r;
  if (family == AF_INET) {
    r = setopt_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
    if (r == 0) r = setopt_int(fd, IPPROTO_IP, IP_RECVTTL, 1);
  } else {
    r = setopt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    if (r == 0) r = setopt_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
  }
  if (r != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "setsockopt(recv ancillary data)");
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* close(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, 1, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return undefined(env);
}

/* bindToDevice(fd, ifname)  ("" removes the binding) */
static napi_value js_bind_to_device(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  char name[IFNAMSIZ];
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_string(env, argv[1], "ifname", name, sizeof name)) return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name)) != 0)
    return throw_errno(env, errno, "setsockopt(SO_BINDTODEVICE)");
  return undefined(env);
}

/* bind(fd, family, address, scopeId?)  fixes the source address of sends */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int fd, family;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!get_args(env, info, 3, 4, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;
  if (!arg_sockaddr(env, family, argv[2], argv[3], &ss, &sl)) return NULL;
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) return throw_errno(env, errno, "bind");
  return undefined(env);
}

/* ifIndex(name): number   (if_nametoindex) */
static napi_value js_if_index(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char name[IFNAMSIZ];
  if (!get_args(env, info, 1, 1, argv, NULL)) return NULL;
  if (!arg_string(env, argv[0], "ifname", name, sizeof name)) return NULL;
  unsigned idx = if_nametoindex(name);
  if (idx == 0) return throw_errno(env, errno, "if_nametoindex");
  napi_value out;
  napi_create_uint32(env, idx, &out);
  return out;
}

/* membership(fd, family, group, ifindex, join: boolean) */
static napi_value js_membership(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int fd, family;
  int32_t ifindex;
  bool join;
  char text[INET6_ADDRSTRLEN + 1];
  if (!get_args(env, info, 5, 5, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;
  if (!arg_string(env, argv[2], "group", text, sizeof text)) return NULL;
  if (!arg_int(env, argv[3], "ifindex", &ifindex)) return NULL;
  if (napi_get_value_bool(env, argv[4], &join) != napi_ok)
    return type_error(env, "join must be a boolean");
  if (family == AF_INET) {
    struct ip_mreqn m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET, text, &m.imr_multiaddr) != 1)
      return type_error(env, "group is not an IPv4 address");
    m.imr_ifindex = ifindex;
    if (setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m) != 0)
      return throw_errno(env, errno, join ? "setsockopt(IP_ADD_MEMBERSHIP)" : "setsockopt(IP_DROP_MEMBERSHIP)");
  } else {
    struct ipv6_mreq m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET6, text, &m.ipv6mr_multiaddr) != 1)
      return type_error(env, "group is not an IPv6 address");
    m.ipv6mr_interface = (unsigned)ifindex;
    if (setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m, sizeof m) != 0)
      return throw_errno(env, errno, join ? "setsockopt(IPV6_JOIN_GROUP)" : "setsockopt(IPV6_LEAVE_GROUP)");
  }
  return undefined(env);
}

/* setMulticastIf(fd, family, ifindex) */
static napi_value js_set_multicast_if(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd, family;
  int32_t ifindex;
  if (!get_args(env, info, 3, 3, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;
  if (!arg_int(env, argv[2], "ifindex", &ifindex)) return NULL;
  if (family == AF_INET) {
    struct ip_mreqn m;
    memset(&m, 0, sizeof m);
    m.imr_ifindex = ifindex;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0)
      return throw_errno(env, errno, "setsockopt(IP_MULTICAST_IF)");
  } else {
    if (setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) != 0)
      return throw_errno(env, errno, "setsockopt(IPV6_MULTICAST_IF)");
  }
  return undefined(env);
}

/* setTtl(fd, family, ttl)  multicast and unicast TTL / hop limit */
static napi_value js_set_ttl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd, family;
  int32_t ttl;
  if (!get_args(env, info, 3, 3, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;
  if (!arg_int(env, argv[2], "ttl", &ttl)) return NULL;
  if (ttl < 1 || ttl > 255) return type_error(env, "ttl must be 1..255");
  if (family == AF_INET) {
    if (setopt_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl) != 0)
      return throw_errno(env, errno, "setsockopt(IP_MULTICAST_TTL)");
    if (setopt_int(fd, IPPROTO_IP, IP_TTL, ttl) != 0)
      return throw_errno(env, errno, "setsockopt(IP_TTL)");
  } else {
    if (setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl) != 0)
      return throw_errno(env, errno, "setsockopt(IPV6_MULTICAST_HOPS)");
    if (setopt_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl) != 0)
      return throw_errno(env, errno, "setsockopt(IPV6_UNICAST_HOPS)");
  }
  return undefined(env);
}

/* setMulticastLoop(fd, family, on) */
static napi_value js_set_multicast_loop(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd, family;
  bool on;
  if (!get_args(env, info, 3, 3, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;
  if (napi_get_value_bool(env, argv[2], &on) != napi_ok)
    return type_error(env, "on must be a boolean");
  if (family == AF_INET) {
    if (setopt_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, on) != 0)
      return throw_errno(env, errno, "setsockopt(IP_MULTICAST_LOOP)");
  } else {
    if (setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on) != 0)
      return throw_errno(env, errno, "setsockopt(IPV6_MULTICAST_LOOP)");
  }
  return undefined(env);
}

/* setChecksumOffset(fd, offset)  IPV6_CHECKSUM; -1 turns it off (the default
 * for non-ICMPv6 raw sockets). With it on, the kernel fills in the checksum
 * (pseudo-header included) on send and silently drops bad ones on receive. */
static napi_value js_set_checksum_offset(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  int32_t off;
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_int(env, argv[1], "offset", &off)) return NULL;
  if (setopt_int(fd, IPPROTO_IPV6, IPV6_CHECKSUM, off) != 0)
    return throw_errno(env, errno, "setsockopt(IPV6_CHECKSUM)");
  return undefined(env);
}

/* recv(fd, family): null | { data, address, scopeId, destination, ifindex, ttl, truncated }
 * null when nothing is queued (EAGAIN). IPv4 raw sockets hand over the whole
 * datagram, IP header included (data[8] is the TTL); IPv6 hands over the
 * payload only, the hop limit comes from IPV6_HOPLIMIT ancillary data. ttl is
 * from ancillary data for both (IP_TTL / IPV6_HOPLIMIT), -1 if absent. */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd, family;
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;

  unsigned char buf[RECV_BUF];
  union {
    char buf[256];
    struct cmsghdr align;
  } control;
  struct sockaddr_storage from;
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;
    }
    return throw_errno(env, errno, "recvmsg");
  }

  int ttl = -1;
  int ifindex = 0;
  napi_value dst = NULL;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      ttl = v;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ifindex = pi.ipi_ifindex;
      dst = addr_string(env, AF_INET, &pi.ipi_addr);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      ttl = v;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ifindex = (int)pi.ipi6_ifindex;
      dst = addr_string(env, AF_INET6, &pi.ipi6_addr);
    }
  }

  napi_value out, data, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_buffer_copy(env, (size_t)n, buf, NULL, &data));
  napi_set_named_property(env, out, "data", data);
  uint32_t scope = 0;
  if (from.ss_family == AF_INET) {
    v = addr_string(env, AF_INET, &((struct sockaddr_in *)&from)->sin_addr);
  } else if (from.ss_family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&from;
    v = addr_string(env, AF_INET6, &s6->sin6_addr);
    scope = s6->sin6_scope_id;
  } else {
    napi_create_string_utf8(env, "", 0, &v);
  }
  napi_set_named_property(env, out, "address", v);
  napi_create_uint32(env, scope, &v);
  napi_set_named_property(env, out, "scopeId", v);
  if (!dst) napi_get_null(env, &dst);
  napi_set_named_property(env, out, "destination", dst);
  napi_create_int32(env, ifindex, &v);
  napi_set_named_property(env, out, "ifindex", v);
  napi_create_int32(env, ttl, &v);
  napi_set_named_property(env, out, "ttl", v);
  napi_get_boolean(env, (msg.msg_flags & MSG_TRUNC) != 0, &v);
  napi_set_named_property(env, out, "truncated", v);
  return out;
}

/* sendTo(fd, family, buffer, address, scopeId?, source?): bytes sent
 * With `source`, the IP source address of this one datagram is fixed through
 * IP_PKTINFO / IPV6_PKTINFO ancillary data (it must be an address of this
 * host). That is how a single unbound socket per interface can send VRRPv3,
 * whose checksum covers the source, without bind(): a bound IPv4 raw socket
 * would stop receiving the multicast group (raw_v4_match compares the bound
 * address with the destination). */
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int fd, family;
  void *data;
  size_t len;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!get_args(env, info, 4, 6, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!arg_family(env, argv[1], &family)) return NULL;
  if (!arg_buffer(env, argv[2], "buffer", &data, &len)) return NULL;
  if (!arg_sockaddr(env, family, argv[3], argv[4], &ss, &sl)) return NULL;
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_name = &ss, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1};
  napi_valuetype t;
  napi_typeof(env, argv[5], &t);
  if (t != napi_undefined && t != napi_null) {
    char text[INET6_ADDRSTRLEN + 1];
    if (!arg_string(env, argv[5], "source", text, sizeof text)) return NULL;
    /* in_pktinfo.ipi_spec_dst and in6_pktinfo.ipi6_addr are both the source */
    union { struct in_pktinfo v4; struct in6_pktinfo v6; } pi;
    memset(&pi, 0, sizeof pi);
    int v4 = family == AF_INET;
    if (inet_pton(family, text, v4 ? (void *)&pi.v4.ipi_spec_dst : (void *)&pi.v6.ipi6_addr) != 1) {
      return type_error(env, "source is not an address of the socket's family");
    }
    size_t size = v4 ? sizeof pi.v4 : sizeof pi.v6;
    memset(&control, 0, sizeof control);
    struct cmsghdr *c = (struct cmsghdr *)control.buf;
    c->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
    c->cmsg_type = v4 ? IP_PKTINFO : IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(size);
    memcpy(CMSG_DATA(c), &pi, size);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(size);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendmsg");
  napi_value out;
  napi_create_int64(env, n, &out);
  return out;
}

/* sendFrame(ifindex, frame): bytes sent
 * One complete Ethernet frame out of an interface through an AF_PACKET socket
 * (protocol 0: it never receives). Used for gratuitous ARP and unsolicited
 * neighbour advertisements, which raw.ts builds.
 *
 * The socket is opened once per process and kept: closing an AF_PACKET
 * socket waits for an RCU grace period (packet_release -> synchronize_net),
 * measured at 8-16 ms here, and sendFrame runs on the takeover path on
 * Node's only thread. */
static int frame_fd = -1;

static int frame_socket(void) {
  int fd = __atomic_load_n(&frame_fd, __ATOMIC_ACQUIRE);
  if (fd >= 0) return fd;
  fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int none = -1;
  /* a worker thread may have raced us: keep theirs, drop ours */
  if (!__atomic_compare_exchange_n(&frame_fd, &none, fd, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    close(fd);
    fd = none;
  }
  return fd;
}

static napi_value js_send_frame(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t ifindex;
  void *data;
  size_t len;
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  if (!arg_int(env, argv[0], "ifindex", &ifindex)) return NULL;
  if (!arg_buffer(env, argv[1], "frame", &data, &len)) return NULL;
  if (len < ETH_HLEN) return type_error(env, "frame is shorter than an Ethernet header");
  int fd = frame_socket();
  if (fd < 0) return throw_errno(env, errno, "socket(AF_PACKET)");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_halen = ETH_ALEN;
  memcpy(sll.sll_addr, data, ETH_ALEN);
  memcpy(&sll.sll_protocol, (unsigned char *)data + 12, 2);
  ssize_t n;
  do {
    n = sendto(fd, data, len, 0, (struct sockaddr *)&sll, sizeof sll);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendto(AF_PACKET)");
  napi_value out;
  napi_create_int64(env, n, &out);
  return out;
}

/* ------------------------------------------------------------- readiness */

typedef struct watcher {
  void *poll; /* uv_poll_t, uv_handle_size(UV_POLL) bytes; ->data == this */
  napi_env env;
  napi_ref callback;
  napi_ref resource;
  napi_async_context context;
  int closing;
  int hooked;
} watcher_t;

/* The JS external points at a box, so a double unwatch() or an unwatch()
 * after env teardown never touches freed memory. */
typedef struct {
  watcher_t *w;
} box_t;

static void on_close(void *handle) {
  watcher_t *w = *(watcher_t **)handle;
  free(w->poll);
  free(w);
}

static void stop_watcher(watcher_t *w, int from_hook);

static void cleanup_hook(void *arg) { stop_watcher((watcher_t *)arg, 1); }

static void stop_watcher(watcher_t *w, int from_hook) {
  if (w->closing) return;
  w->closing = 1;
  uv_poll_stop(w->poll);
  if (w->hooked && !from_hook) napi_remove_env_cleanup_hook(w->env, cleanup_hook, w);
  w->hooked = 0;
  napi_delete_reference(w->env, w->callback);
  napi_delete_reference(w->env, w->resource);
  napi_async_destroy(w->env, w->context);
  /* uv_close() on a poll handle drops the fd from epoll synchronously, so
   * the caller may close(fd) right after unwatch(). */
  uv_close(w->poll, on_close);
}

static void on_poll(void *handle, int status, int events) {
  (void)events;
  watcher_t *w = *(watcher_t **)handle;
  if (w->closing) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, resource, arg, result;
  napi_get_reference_value(env, w->callback, &cb);
  napi_get_reference_value(env, w->resource, &resource);
  if (status < 0) {
    napi_value code, message;
    napi_create_string_utf8(env, "EPOLL", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, code, message, &arg);
  } else {
    napi_get_null(env, &arg);
  }
  /* make_callback (not call_function): runs process.nextTick and promise jobs
   * after the callback, as for any other I/O callback. */
  napi_status st = napi_make_callback(env, w->context, resource, cb, 1, &arg, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err); /* -> process 'uncaughtException' */
  }
  napi_close_handle_scope(env, scope);
}

static void box_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* watch(fd, callback): handle   calls callback(err|null) whenever fd is readable */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) return type_error(env, "callback must be a function");

  struct uv_loop_s *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_errno(env, EINVAL, "napi_get_uv_event_loop");
  watcher_t *w = calloc(1, sizeof *w);
  box_t *box = calloc(1, sizeof *box);
  /* UV_POLL is 8 in every libuv 1.x; the floor only guards against surprises */
  size_t poll_size = uv_handle_size(CARP_UV_POLL);
  void *poll = calloc(1, poll_size > 512 ? poll_size : 512);
  if (!w || !box || !poll) {
    free(w);
    free(box);
    free(poll);
    return throw_errno(env, ENOMEM, "watch");
  }
  w->poll = poll;
  w->env = env;
  int r = uv_poll_init(loop, poll, fd);
  if (r < 0) {
    free(w);
    free(box);
    free(poll);
    return throw_errno(env, -r, "uv_poll_init");
  }
  *(watcher_t **)poll = w; /* handle->data */
  napi_value resource, name, external;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "carpenter:RawSocket", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_create_reference(env, resource, 1, &w->resource);
  napi_async_init(env, resource, name, &w->context);
  napi_add_env_cleanup_hook(env, cleanup_hook, w);
  w->hooked = 1;
  r = uv_poll_start(poll, CARP_UV_READABLE, on_poll);
  if (r < 0) {
    stop_watcher(w, 0);
    free(box);
    return throw_errno(env, -r, "uv_poll_start");
  }
  box->w = w;
  if (napi_create_external(env, box, box_finalize, NULL, &external) != napi_ok) {
    stop_watcher(w, 0);
    free(box);
    return NULL;
  }
  return external;
}

static watcher_t *arg_watcher(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external) {
    type_error(env, "handle must be a watch() handle");
    return NULL;
  }
  box_t *box;
  napi_get_value_external(env, v, (void **)&box);
  return box ? box->w : NULL;
}

/* unwatch(handle)  idempotent */
static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, 1, argv, NULL)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_external) return type_error(env, "handle must be a watch() handle");
  box_t *box;
  napi_get_value_external(env, argv[0], (void **)&box);
  if (box && box->w) {
    stop_watcher(box->w, 0);
    box->w = NULL;
  }
  return undefined(env);
}

/* setRef(handle, on)  whether the watch keeps the event loop alive (default yes) */
static napi_value js_set_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bool on;
  if (!get_args(env, info, 2, 2, argv, NULL)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_external) return type_error(env, "handle must be a watch() handle");
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) return type_error(env, "on must be a boolean");
  watcher_t *w = arg_watcher(env, argv[0]);
  if (w && !w->closing) {
    if (on) uv_ref(w->poll);
    else uv_unref(w->poll);
  }
  return undefined(env);
}

/* ------------------------------------------------------------------ module */

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"socket", NULL, js_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bindToDevice", NULL, js_bind_to_device, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifIndex", NULL, js_if_index, NULL, NULL, NULL, napi_enumerable, NULL},
      {"membership", NULL, js_membership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMulticastIf", NULL, js_set_multicast_if, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTtl", NULL, js_set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMulticastLoop", NULL, js_set_multicast_loop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setChecksumOffset", NULL, js_set_checksum_offset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFrame", NULL, js_send_frame, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watch", NULL, js_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRef", NULL, js_set_ref, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value v;
  napi_create_uint32(env, 1, &v);
  napi_set_named_property(env, exports, "abiVersion", v);
  return exports;
}
