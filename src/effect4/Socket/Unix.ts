/**
 * UNIX stream sockets: `connectUnix`, and file-descriptor passing on every `UnixStream`.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import type { ByteStream, ReceiveError, SendError, UnixAddress } from "../ByteStream.js"
import * as telemetry from "../internal/telemetry.js"
import { toPathBytes } from "../internal/unixPath.js"
import * as unixStream from "../internal/unixStream.js"
import type { ConnectError, InvalidArgumentError, UnsupportedError } from "../NetError.js"

/**
 * The credentials of a UNIX stream's peer process, as the kernel recorded them at connect.
 *
 * @since 0.2.0
 * @category models
 */
export interface PeerCredentials {
  readonly pid: number
  readonly uid: number
  readonly gid: number
}

/**
 * An open file descriptor, or an object that owns one: a `fs.promises.FileHandle`, a
 * `net.Socket`, or an open effect-sockets stream. Anything else is an argument error.
 *
 * @since 0.2.0
 * @category models
 */
export type FdLike = number | { readonly fd: number } | net.Socket | ByteStream

/**
 * A connected UNIX stream socket. Besides bytes it passes open file descriptors (SCM_RIGHTS).
 *
 * @since 0.2.0
 * @category models
 */
export interface UnixStream extends ByteStream {
  readonly attributes: {
    readonly family: "unix"
    readonly localAddress: UnixAddress
    readonly remoteAddress: UnixAddress
    /**
     * Who is at the other end (SO_PEERCRED), read once when the stream was accepted or
     * connected: the peer process's pid, uid and gid at its connect() (a server sees the
     * client's, a client the server's as of its listen()). Present on addon streams; absent on
     * the `node:net` fallback (no addon), which cannot read it.
     */
    readonly peerCredentials?: PeerCredentials
    readonly [key: string]: unknown
  }
  /**
   * Sends `message` (not empty) with `fds` (not empty) attached to its first byte. The fds stay
   * open here: the peer receives duplicates.
   */
  readonly sendFds: (
    message: Uint8Array | string,
    fds: ReadonlyArray<FdLike>
  ) => Effect.Effect<void, SendError | InvalidArgumentError | UnsupportedError>
  /**
   * Receives up to `msglen` bytes and up to `maxfds` file descriptors. The fds are close-on-exec
   * and belong to the caller. If more fds were sent than `maxfds`, the ones that arrived are
   * closed and it fails with `BrokenResourceError` (reason `"MessageTooLong"`); the stream stays
   * usable.
   */
  readonly receiveFds: (
    msglen: number,
    maxfds: number
  ) => Effect.Effect<readonly [Uint8Array, ReadonlyArray<number>], ReceiveError | UnsupportedError>
}

/**
 * Connects to the UNIX stream socket at `path`: a string (UTF-8) or bytes; a leading `"\0"`
 * names a Linux abstract socket. A path over the kernel's limit (107 bytes) is an argument
 * error. The stream is closed when the scope closes.
 *
 * With the native addon (built by `npm install`), the stream also passes file descriptors.
 * Without it, `node:net` is used and `sendFds`/`receiveFds` fail with `UnsupportedError`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connectUnix = (
  path: string | Uint8Array
): Effect.Effect<UnixStream, ConnectError | InvalidArgumentError, Scope.Scope> =>
  Effect.gen(function*() {
    const bytes = yield* toPathBytes(path)
    return yield* Effect.acquireRelease(
      unixStream.connect(bytes),
      (stream) => stream.close
    )
  }).pipe(
    Effect.tapError(telemetry.recordConnectFailure),
    Effect.withSpan("Socket.connectUnix", {
      kind: "client",
      attributes: {
        "network.transport": "unix",
        "server.address": typeof path === "string" ? path.replace(/\0/g, "@") : "(bytes)"
      }
    })
  )
