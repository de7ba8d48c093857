/**
 * @internal
 * The raw native addon (native/effect_sockets.c): non-blocking AF_UNIX sockets with SCM_RIGHTS
 * and libuv readiness. Mechanics only — every call is one syscall (EINTR retried in C) and
 * returns what the kernel said; retries, buffering, fd ownership and typed errors belong to the
 * callers.
 *
 * Conventions:
 * - fds are plain numbers, created non-blocking and close-on-exec (received fds too).
 * - "Would block" (EAGAIN) is never thrown: `recv`/`send`/`sendmsg`/`accept` return -1, `recvmsg`
 *   returns null. The one exception is `connect`, see there.
 * - A failed syscall throws an {@link AddonSystemError}: `code` ("EADDRINUSE", or "E<n>" for an
 *   errno the addon does not name), `errno` (negative, as in Node), `syscall`.
 * - Bad arguments throw TypeError/RangeError with Node's `ERR_*` codes.
 * - Paths are raw bytes (`Uint8Array`/`Buffer`). A pathname takes at most
 *   `constants.SUN_PATH_SIZE - 1` bytes (107 on Linux), an abstract name (leading 0 byte, exact
 *   length, Linux only) at most `SUN_PATH_SIZE` (108); longer throws ENAMETOOLONG, a pathname with
 *   a NUL byte inside throws EINVAL: nothing is ever truncated. An empty path passed to `bind`
 *   asks Linux to autobind a unique abstract name (read it back with `getsockname`).
 *
 * Loaded lazily by {@link load}: TCP/UDP users never touch it.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** @internal The API version this file expects (API_VERSION in effect_sockets.c). */
export const API_VERSION = 1

/** @internal The "would block" sentinel of `recv`, `send`, `sendmsg` and `accept`. */
export const WOULD_BLOCK = -1

/** @internal */
export type SocketType = "stream" | "dgram"

/** @internal What `fdType` found: a socket, a regular file, anything else, or no open fd (EBADF). */
export type FdType = "socket" | "file" | "other" | "invalid"

/** @internal An error thrown by a failed syscall. */
export interface AddonSystemError extends Error {
  /** "EADDRINUSE", "ENAMETOOLONG", …; "E<n>" for errnos the addon does not name. */
  readonly code: string
  /** The negated errno, as in Node's system errors (-98 for EADDRINUSE on Linux). */
  readonly errno: number
  /** "bind", "connect", "recvmsg", "uv_poll_init", … */
  readonly syscall: string
}

/** @internal */
export const isAddonSystemError = (u: unknown): u is AddonSystemError =>
  u instanceof Error &&
  typeof (u as { code?: unknown }).code === "string" &&
  typeof (u as { errno?: unknown }).errno === "number" &&
  typeof (u as { syscall?: unknown }).syscall === "string"

/** @internal What `recvmsg` received. */
export interface RecvmsgResult {
  /** Bytes written into the buffer (0: EOF on a stream socket, or an empty datagram). */
  readonly bytes: number
  /** Received fds, close-on-exec; the caller owns every one of them (close the unwanted).
   * At most maxFds on Linux (the control buffer is CMSG_LEN(maxFds * 4) bytes). */
  readonly fds: Array<number>
  /** MSG_TRUNC: the datagram was longer than `length`; the rest is lost. */
  readonly truncated: boolean
  /**
   * MSG_CTRUNC: more fds (or other control data) were sent than `maxFds` allows. The kernel
   * closed what did not fit; those that fit are in `fds` and still need closing.
   */
  readonly controlTruncated: boolean
  /**
   * The sending socket's bound path (abstract names keep their 0 byte), or null when it is
   * unnamed. Datagrams: the sender. Streams: the peer socket's own name — a client reading from
   * an accepted socket sees the listener's path, a server usually sees null.
   */
  readonly address: Buffer | null
}

/**
 * @internal
 * Readiness callback. `error` is 0, or a negative libuv/errno code. libuv reports POLLERR (a
 * pending socket error, e.g. ECONNRESET) as -EBADF (-9) and STOPS the poller: find the real
 * error with `recv`/`send`/`socketError`, and `start` again if still wanted.
 */
export type PollerCallback = (error: number, readable: boolean, writable: boolean) => void

/**
 * @internal
 * A `uv_poll_t` on Node's loop watching one fd (level-triggered: while started, the callback
 * fires on every loop iteration in which the fd is ready). `new Poller(fd, cb)` throws EEXIST if
 * another Poller of this thread already watches `fd`, EPERM for fds epoll cannot watch (regular
 * files). A started Poller keeps the process alive and itself from being collected; a stopped
 * one that becomes garbage is closed by its finalizer, but call `close()` explicitly.
 */
export interface Poller {
  /** (Re)arm for the given interests; `start(false, false)` is `stop()`. Throws ERR_POLLER_CLOSED after close. */
  start(readable: boolean, writable: boolean): void
  /** Stop watching; no callback until the next start. Throws ERR_POLLER_CLOSED after close. */
  stop(): void
  /**
   * Idempotent. The callback is never called after it returns (even from inside the callback).
   * It does NOT close the fd: close the fd only AFTER `close()`, so that libuv has stopped
   * watching the number before the kernel can reuse it.
   */
  close(): void
}

/** @internal */
export interface PollerConstructor {
  new(fd: number, callback: PollerCallback): Poller
}

/** @internal Constants of the platform. */
export interface AddonConstants {
  readonly SOL_SOCKET: number
  readonly SO_RCVBUF: number
  readonly SO_SNDBUF: number
  readonly SO_TYPE: number
  readonly SO_ERROR: number
  readonly SOCK_STREAM: number
  readonly SOCK_DGRAM: number
  /** sizeof(sockaddr_un.sun_path): 108 on Linux, 104 on macOS. */
  readonly SUN_PATH_SIZE: number
  /** The socket's address family (getsockopt), Linux only: -1 where the platform lacks it. */
  readonly SO_DOMAIN: number
  /** Whether the socket is listening (getsockopt: 1 or 0). */
  readonly SO_ACCEPTCONN: number
  readonly AF_UNIX: number
  readonly AF_INET: number
  readonly AF_INET6: number
}

/** @internal The peer of a connected AF_UNIX socket, as the kernel recorded it at connect. */
export interface PeerCredentialsResult {
  /** The peer's process id at connect time (-1 where the platform does not say). */
  readonly pid: number
  readonly uid: number
  readonly gid: number
}

/** @internal The raw addon. */
export interface Addon {
  readonly apiVersion: number
  readonly constants: AddonConstants

  /** socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC). */
  socket(type: SocketType): number
  /** socketpair(AF_UNIX, …), same flags. */
  socketpair(type: SocketType): [number, number]
  bind(fd: number, path: Uint8Array): void
  listen(fd: number, backlog: number): void
  /**
   * true: connected. false: in progress — wait for writability, then `socketError(fd)`.
   * Throws EAGAIN (retryable, nothing in progress) when a Linux listener's backlog is full:
   * the socket stays unconnected and would poll writable at once, so retry `connect` later.
   */
  connect(fd: number, path: Uint8Array): boolean
  /** Reads (and clears) SO_ERROR: 0 when none; otherwise throws it as an error with syscall "connect". */
  socketError(fd: number): 0
  /** accept4(NONBLOCK | CLOEXEC): the new fd, or -1 when no connection waits. */
  accept(fd: number): number
  /** 0 = SHUT_RD, 1 = SHUT_WR, 2 = SHUT_RDWR. */
  shutdown(fd: number, how: 0 | 1 | 2): void
  /** close(2); EINTR counts as closed. Close a watched fd only after its Poller's close(). */
  close(fd: number): void
  /** The bound path (raw bytes; empty when unnamed; abstract names keep their leading 0 byte). */
  getsockname(fd: number): Buffer
  /** The peer's path, as getsockname. Throws ENOTCONN when not connected. */
  getpeername(fd: number): Buffer
  /** Bytes read into buf[offset, offset + length): > 0, 0 at EOF (stream), -1 would block. */
  recv(fd: number, buf: Uint8Array, offset: number, length: number): number
  /** Bytes sent (possibly fewer than length on a stream), -1 would block. MSG_NOSIGNAL. */
  send(fd: number, buf: Uint8Array, offset: number, length: number): number
  /**
   * sendmsg with MSG_NOSIGNAL: bytes sent, -1 would block. Non-empty `fds` travel as one
   * SCM_RIGHTS message attached to the first byte sent (the kernel duplicates them; the caller
   * still owns and closes its own): on a stream socket send at least 1 byte with them, and when
   * fewer bytes than `length` are sent, send the rest WITHOUT the fds. `path`: destination of an
   * unconnected datagram socket (null otherwise). At most 1024 fds (Linux itself allows 253).
   */
  sendmsg(
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    fds: ReadonlyArray<number>,
    path: Uint8Array | null
  ): number
  /**
   * recvmsg with MSG_CMSG_CLOEXEC and room for exactly `maxFds` fds (0..1024); null when it would
   * block. fds are not closed in C even on MSG_CTRUNC: see {@link RecvmsgResult}.
   */
  recvmsg(fd: number, buf: Uint8Array, offset: number, length: number, maxFds: number): RecvmsgResult | null
  getsockoptInt(fd: number, level: number, name: number): number
  setsockoptInt(fd: number, level: number, name: number, value: number): void
  /** fstat: what `fd` is; "invalid" when it is not an open fd (EBADF). */
  fdType(fd: number): FdType
  /**
   * SO_PEERCRED (Linux; getpeereid elsewhere): who connected, as recorded at connect() or
   * socketpair() (not updated if the peer later changes uid or hands the socket on). Throws
   * ENOTCONN on an unconnected socket, ENOTSOCK/EBADF on other fds.
   */
  peerCredentials(fd: number): PeerCredentialsResult
  /** fcntl: O_NONBLOCK and FD_CLOEXEC on an fd made elsewhere (one being adopted). */
  setNonBlocking(fd: number): void

  readonly Poller: PollerConstructor
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

/** @internal Where `npm install` (native/build.mjs) puts the addon. */
export const addonPath = path.join(packageRoot, "build", "Release", "effect_sockets.node")

let cached: { readonly addon: Addon } | { readonly error: Error } | undefined

/**
 * @internal
 * Why the addon did not load. `permanent`: it never will in this process (Windows, no file, a
 * stale build); otherwise (dlopen failed, e.g. under EMFILE) the next use tries again.
 */
export class AddonUnavailable extends Error {
  constructor(message: string, readonly permanent: boolean, options?: { readonly cause: unknown }) {
    super(message, options)
  }
}

const unavailable = (why: string, permanent: boolean, cause?: unknown): Error =>
  new AddonUnavailable(
    `the effect-sockets native addon is not available: ${why}. UNIX sockets need it; it is built by ` +
      "`npm install` (node native/build.mjs, which needs python3, make and a C compiler); rebuild with " +
      "`node native/build.mjs` in the package directory",
    permanent,
    cause === undefined ? undefined : { cause }
  )

const tryLoad = (): Addon => {
  if (process.platform === "win32") {
    throw new AddonUnavailable(
      "the effect-sockets native addon does not support Windows: UNIX sockets are unavailable",
      true
    )
  }
  if (!fs.existsSync(addonPath)) {
    throw unavailable(`${addonPath} does not exist (the build was skipped or failed during install)`, true)
  }
  let addon: Addon
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon
  } catch (cause) {
    // Not cached: dlopen can fail for a passing reason (EMFILE), so the next use tries again.
    throw unavailable(
      `loading ${addonPath} failed (${cause instanceof Error ? cause.message : String(cause)})`,
      false,
      cause
    )
  }
  if (addon.apiVersion !== API_VERSION) {
    throw unavailable(
      `${addonPath} is a stale build (API version ${String(addon.apiVersion)}, expected ${API_VERSION})`,
      true
    )
  }
  return addon
}

/**
 * @internal
 * The addon, loaded on first use and cached, and so are permanent failures (not built, Windows,
 * stale build); a failed dlopen (EMFILE, …) is retried on the next call. Throws an
 * {@link AddonUnavailable} saying why; callers turn it into UnsupportedError.
 */
export const load = (): Addon => {
  if (cached === undefined) {
    try {
      cached = { addon: tryLoad() }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      if (!(failure instanceof AddonUnavailable) || failure.permanent) cached = { error: failure }
      throw failure
    }
  }
  if ("error" in cached) throw cached.error
  return cached.addon
}
