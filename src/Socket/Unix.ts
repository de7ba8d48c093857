/**
 * UNIX stream sockets: `connectUnix`, and file-descriptor passing on every `UnixStream`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import type { ByteStream, ReceiveError, SendError, UnixAddress } from "../ByteStream.js"
import type { Addon } from "../internal/addon.js"
import * as addonStream from "../internal/addonStream.js"
import { FdWatcher } from "../internal/fdWatcher.js"
import { loadAddon } from "../internal/native.js"
import * as nodeStream from "../internal/nodeStream.js"
import { toPathBytes, toUnixAddress } from "../internal/unixPath.js"
import { ConnectError, type InvalidArgumentError, reasonOf, UnsupportedError } from "../NetError.js"

/**
 * An open file descriptor, or an object that owns one: a `fs.promises.FileHandle`, a
 * `net.Socket`, or an open effect-sockets stream. Anything else is an argument error.
 *
 * @since 0.1.0
 * @category models
 */
export type FdLike = number | { readonly fd: number } | net.Socket | ByteStream

/**
 * A connected UNIX stream socket. Besides bytes it passes open file descriptors (SCM_RIGHTS).
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixStream extends ByteStream {
  readonly attributes: {
    readonly family: "unix"
    readonly localAddress: UnixAddress
    readonly remoteAddress: UnixAddress
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

/** How long to wait before retrying a connect that found the listener's queue full (EAGAIN). */
const FULL_BACKLOG_RETRY = "10 millis"

const displayPath = (path: Uint8Array): string => {
  const address = toUnixAddress(path)
  return typeof address.path === "string" ? address.path : `@${Buffer.from(address.path).subarray(1).toString("utf8")}`
}

const connectError = (path: Uint8Array, cause: unknown) => {
  const host = displayPath(path)
  const reason = reasonOf(cause)
  return new ConnectError({ host, port: 0, reason, attempts: [{ host, port: 0, reason, cause }] })
}

const connectWithAddon = (addon: Addon, path: Buffer): Effect.Effect<UnixStream, ConnectError> =>
  Effect.suspend(() => {
    const fd = addon.socket("stream")
    const attempt: Effect.Effect<void, ConnectError> = Effect.suspend(() => {
      try {
        if (addon.connect(fd, path)) return Effect.void
      } catch (cause) {
        if ((cause as { code?: string }).code === "EAGAIN") {
          return Effect.zipRight(Effect.sleep(FULL_BACKLOG_RETRY), attempt)
        }
        return Effect.fail(connectError(path, cause))
      }
      // In progress: writable means done; SO_ERROR says how.
      const watcher = new FdWatcher(addon, fd)
      return watcher.waitWritable.pipe(
        Effect.ensuring(Effect.sync(() => watcher.close())),
        Effect.zipRight(
          Effect.try({ try: () => void addon.socketError(fd), catch: (cause) => connectError(path, cause) })
        )
      )
    })
    return Effect.interruptible(attempt).pipe(
      Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(() => addon.close(fd)) : Effect.void)),
      Effect.map(() => addonStream.make(addon, fd))
    )
  })

const unsupportedFds = (why: string) => {
  const fail = Effect.fail(new UnsupportedError({ operation: "file descriptor passing", why }))
  return { sendFds: () => fail, receiveFds: () => fail }
}

/** @internal Wraps a connected `node:net` UNIX socket (the fallback without the addon). */
export const fromNetSocket = (
  socket: net.Socket,
  addresses: { readonly local: Uint8Array | null; readonly remote: Uint8Array | null },
  why: string
): UnixStream => {
  const stream = nodeStream.make(socket, {
    family: "unix" as const,
    localAddress: toUnixAddress(addresses.local),
    remoteAddress: toUnixAddress(addresses.remote)
  })
  return Object.assign(stream, unsupportedFds(why))
}

const connectWithNet = (path: Buffer, why: string): Effect.Effect<UnixStream, ConnectError> =>
  Effect.async<UnixStream, ConnectError>((resume) => {
    const socket = net.connect({ path: path.toString("utf8"), allowHalfOpen: true })
    socket.once("error", (cause) => {
      socket.destroy()
      resume(Effect.fail(connectError(path, cause)))
    })
    socket.once("connect", () => {
      socket.removeAllListeners("error")
      resume(Effect.succeed(fromNetSocket(socket, { local: null, remote: path }, why)))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * Connects to the UNIX stream socket at `path`: a string (UTF-8) or bytes; a leading `"\0"`
 * names a Linux abstract socket. A path over the kernel's limit (107 bytes) is an argument
 * error. The stream is closed when the scope closes.
 *
 * With the native addon (built by `npm install`), the stream also passes file descriptors.
 * Without it, `node:net` is used and `sendFds`/`receiveFds` fail with `UnsupportedError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connectUnix = (
  path: string | Uint8Array
): Effect.Effect<UnixStream, ConnectError | InvalidArgumentError, Scope.Scope> =>
  Effect.gen(function*() {
    const bytes = yield* toPathBytes(path)
    const addon = yield* Effect.either(loadAddon("connectUnix"))
    return yield* Effect.acquireRelease(
      addon._tag === "Right" ? connectWithAddon(addon.right, bytes) : connectWithNet(bytes, addon.left.why),
      (stream) => stream.close
    )
  })
