/**
 * @internal
 * The Effect 4 edition's UNIX stream sockets: connecting and listening with the addon (streams that
 * pass fds) or with `node:net` (the fallback), over `driver/unixStream.ts`.
 */
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import type { Addon } from "../../internal/driver/addon.js"
import type { ProbeResult } from "../../internal/driver/unixPath.js"
import * as driver from "../../internal/driver/unixStream.js"
import type { UnixAddress } from "../ByteStream.js"
import type { Listener } from "../Listener/index.js"
import type { BusyResourceError, ClosedResourceError, ConnectError, ListenError } from "../NetError.js"
import { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import type { UnixStream } from "../Socket/Unix.js"
import * as addonStream from "./addonStream.js"
import { toBytes } from "./byteStream.js"
import { closed, connectFailed, listenFailed } from "./errors.js"
import { FdWatcher } from "./fdWatcher.js"
import * as listener from "./listener.js"
import { loadAddon } from "./native.js"
import * as netStream from "./netStream.js"
import { failBusy } from "./signal.js"
import type { Side } from "./telemetry.js"
import { describePath, toUnixAddress } from "./unixPath.js"

/** How long to wait before retrying a connect that found the listener's queue full (EAGAIN). */
const FULL_BACKLOG_RETRY = "10 millis"

const connectError = (path: Uint8Array, cause: unknown): ConnectError => connectFailed(describePath(path), 0, cause)

/**
 * @internal
 * Is a socket bound at this socket file? Probed with the addon when it loads (the path's raw
 * bytes), else through `node:net`.
 */
export const probe = (path: Buffer): Effect.Effect<ProbeResult> =>
  Effect.flatMap(
    Effect.result(loadAddon("createUnixListener")),
    (addon) =>
      addon._tag === "Success"
        ? Effect.sync(() => driver.probe(addon.success, path))
        : Effect.callback<ProbeResult>((resume) => driver.probeNet(path, (result) => resume(Effect.succeed(result))))
  )

/** @internal Connects with the addon: the stream passes fds. */
export const connectWithAddon = (addon: Addon, path: Buffer): Effect.Effect<UnixStream, ConnectError> =>
  Effect.suspend(() => {
    let fd: number
    try {
      fd = driver.open(addon)
    } catch (cause) {
      // EMFILE/ENFILE: no socket to connect with.
      return Effect.fail(connectError(path, cause))
    }
    const attempt: Effect.Effect<void, ConnectError> = Effect.suspend(() => {
      let started: driver.ConnectStart
      try {
        started = driver.startConnect(addon, fd, path)
      } catch (cause) {
        return Effect.fail(connectError(path, cause))
      }
      if (started === "connected") return Effect.void
      if (started === "retry") return Effect.andThen(Effect.sleep(FULL_BACKLOG_RETRY), attempt)
      // In progress: writable means done; SO_ERROR says how.
      const watcher = new FdWatcher(addon, fd)
      return watcher.waitWritable.pipe(
        Effect.ensuring(Effect.sync(() => watcher.close())),
        Effect.andThen(Effect.try({
          try: () => driver.finishConnect(addon, fd),
          catch: (cause) => connectError(path, cause)
        }))
      )
    })
    return Effect.interruptible(attempt).pipe(
      Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(() => driver.close(addon, fd)) : Effect.void)),
      Effect.map(() => addonStream.make(addon, fd, "client"))
    )
  })

const unsupportedFds = (why: string) => {
  const fail = Effect.fail(new UnsupportedError({ operation: "file descriptor passing", why }))
  return {
    // A bad message is still a bad argument, as it is with the addon.
    sendFds: (message: unknown) => {
      const bytes = toBytes(message, "message")
      return bytes instanceof InvalidArgumentError ? Effect.fail(bytes) : fail
    },
    receiveFds: () => fail
  }
}

/** @internal Wraps a connected `node:net` UNIX socket (the fallback without the addon). */
export const fromNetSocket = (
  socket: net.Socket,
  addresses: { readonly local: Uint8Array | null; readonly remote: Uint8Array | null },
  why: string,
  side: Side
): UnixStream => {
  const stream = netStream.make(
    socket,
    {
      family: "unix" as const,
      localAddress: toUnixAddress(addresses.local),
      remoteAddress: toUnixAddress(addresses.remote)
    },
    "unix",
    side
  )
  return Object.assign(stream, unsupportedFds(why))
}

/** @internal Connects with `node:net`; `sendFds`/`receiveFds` fail with `UnsupportedError` saying `why`. */
export const connectWithNet = (path: Buffer, why: string): Effect.Effect<UnixStream, ConnectError> =>
  Effect.callback<UnixStream, ConnectError>((resume) => {
    const cancel = driver.connectNet(path, (cause, socket) => {
      if (cause) resume(Effect.fail(connectError(path, cause)))
      else resume(Effect.succeed(fromNetSocket(socket!, { local: null, remote: path }, why, "client")))
    })
    return Effect.sync(cancel)
  })

const busyAccepting = failBusy("accepting on")

/** @internal A listener on the addon: accepted streams pass fds. `close` runs `onClose` after closing the fd. */
export const listenWithAddon = (
  addon: Addon,
  path: Buffer,
  options: { readonly mode?: number | undefined; readonly backlog: number },
  onClose: Effect.Effect<void>
): Effect.Effect<Listener<UnixStream, UnixAddress>, ListenError> =>
  Effect.gen(function*() {
    const fd = yield* Effect.try({
      try: () => driver.listen(addon, path, options.mode, options.backlog),
      catch: (cause) => listenFailed(describePath(path), cause)
    })
    return listenerOnFd(addon, fd, path, onClose)
  })

/** @internal A listener over a listening AF_UNIX fd bound at `path`; it owns the fd. */
export const listenerOnFd = (
  addon: Addon,
  fd: number,
  path: Buffer,
  onClose: Effect.Effect<void>
): Listener<UnixStream, UnixAddress> => {
  const watcher = new FdWatcher(addon, fd)
  let isClosed = false
  const accept: Effect.Effect<UnixStream, ClosedResourceError | BusyResourceError | ListenError> = Effect
    .withFiber((fiber) => {
      if (isClosed) return Effect.fail(closed("accept"))
      let client: number | undefined
      try {
        client = driver.accept(addon, fd)
      } catch (cause) {
        return Effect.fail(listenFailed(describePath(path), cause))
      }
      if (client !== undefined) return Effect.succeed(addonStream.make(addon, client, "server"))
      if (watcher.readerBusy(fiber)) return busyAccepting
      return Effect.andThen(watcher.waitReadable, accept)
    })
  const close = Effect.suspend(() => {
    if (isClosed) return Effect.void
    isClosed = true
    watcher.close()
    driver.close(addon, fd)
    return onClose
  })
  return listener.fromAccept([toUnixAddress(path)], accept, close)
}

/** @internal A listener on `node:net` (the fallback); accepted streams cannot pass fds. */
export const listenWithNet = (
  path: Buffer,
  backlog: number,
  why: string,
  onClose: Effect.Effect<void>
): Effect.Effect<Listener<UnixStream, UnixAddress>, ListenError> =>
  Effect.gen(function*() {
    const server = yield* Effect.callback<net.Server, ListenError>((resume) => {
      driver.listenNet(path, backlog, (cause, server) => {
        resume(cause ? Effect.fail(listenFailed(describePath(path), cause)) : Effect.succeed(server!))
      })
    })
    const made = listener.make({
      servers: [server],
      addresses: [toUnixAddress(path)],
      description: describePath(path),
      backlog,
      wrap: (socket) => fromNetSocket(socket, { local: path, remote: null }, why, "server")
    })
    return { ...made, close: Effect.andThen(made.close, onClose) }
  })

/** @internal Connects with the addon when it loads, else with `node:net` (no fd passing). */
export const connect = (path: Buffer): Effect.Effect<UnixStream, ConnectError> =>
  Effect.flatMap(
    Effect.result(loadAddon("connectUnix")),
    (addon) =>
      addon._tag === "Success" ? connectWithAddon(addon.success, path) : connectWithNet(path, addon.failure.why)
  )

/**
 * @internal
 * Listens with the addon when it loads, else with `node:net`, which cannot set `mode` before
 * anyone connects (so asking for it is unsupported there).
 */
export const listen = (
  path: Buffer,
  options: { readonly mode?: number | undefined; readonly backlog: number },
  onClose: Effect.Effect<void>
): Effect.Effect<Listener<UnixStream, UnixAddress>, ListenError | UnsupportedError> =>
  Effect.flatMap(Effect.result(loadAddon("createUnixListener")), (addon): Effect.Effect<
    Listener<UnixStream, UnixAddress>,
    ListenError | UnsupportedError
  > => {
    if (addon._tag === "Success") return listenWithAddon(addon.success, path, options, onClose)
    if (options.mode !== undefined) {
      return Effect.fail(
        new UnsupportedError({
          operation: "mode",
          why: `setting it before listen needs the native addon: ${addon.failure.why}`
        })
      )
    }
    if (!driver.netCanName(path)) {
      return Effect.fail(
        new UnsupportedError({
          operation: "createUnixListener",
          why: `node:net cannot name a path that is not UTF-8 (the native addon can): ${addon.failure.why}`
        })
      )
    }
    return listenWithNet(path, options.backlog, addon.failure.why, onClose)
  })
