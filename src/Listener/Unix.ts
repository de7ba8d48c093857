/**
 * UNIX stream listeners: stale socket files are replaced, other files never; `mode` is set
 * before anyone can connect.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as net from "node:net"
import type { Addon } from "../internal/addon.js"
import { WOULD_BLOCK } from "../internal/addon.js"
import * as addonStream from "../internal/addonStream.js"
import { FdWatcher } from "../internal/fdWatcher.js"
import * as internal from "../internal/listener.js"
import { loadAddon } from "../internal/native.js"
import { clearStale, describePath as describe, isAbstract, toPathBytes, toUnixAddress } from "../internal/unixPath.js"
import { checkPositiveInt } from "../internal/validate.js"
import {
  BusyResourceError,
  ClosedResourceError,
  type InvalidArgumentError,
  ListenError,
  reasonOf,
  UnsupportedError
} from "../NetError.js"
import { fromNetSocket, type UnixStream } from "../Socket/Unix.js"
import type { Listener as ListenerService } from "./index.js"

/**
 * Options of {@link createUnixListener}.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixListenerOptions {
  /** Permission bits of the socket file (e.g. `0o600`), set before the socket accepts anyone. */
  readonly mode?: number
  /** The listen backlog (default 511). */
  readonly backlog?: number
  /** Remove the socket file when the listener closes (default false, as AnyIO). */
  readonly unlinkOnClose?: boolean
}

/** Is a stream listener alive at this socket file? */
const isLive = (path: Buffer): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const probe = net.connect({ path: path.toString("utf8") })
    probe.once("connect", () => {
      probe.destroy()
      resume(Effect.succeed(true))
    })
    probe.once("error", (error) => resume(Effect.succeed((error as { code?: string }).code === "EAGAIN")))
  })

const listenError = (path: Uint8Array, cause: unknown) =>
  new ListenError({ reason: reasonOf(cause), address: describe(path), cause })

const unlinkIfOurs = (path: Buffer, unlink: boolean) =>
  Effect.sync(() => {
    if (!unlink || isAbstract(path)) return
    if (fs.lstatSync(path, { throwIfNoEntry: false })?.isSocket()) fs.rmSync(path, { force: true })
  })

const listenWithAddon = (
  addon: Addon,
  path: Buffer,
  options: UnixListenerOptions
): Effect.Effect<ListenerService<UnixStream>, ListenError> =>
  Effect.gen(function*() {
    const fd = addon.socket("stream")
    yield* Effect.try({
      try: () => {
        addon.bind(fd, path)
        // A bound socket that is not listening refuses connections: no window with other bits.
        if (options.mode !== undefined && !isAbstract(path)) fs.chmodSync(path, options.mode)
        addon.listen(fd, options.backlog ?? 511)
      },
      catch: (cause) => {
        addon.close(fd)
        return listenError(path, cause)
      }
    })
    const watcher = new FdWatcher(addon, fd)
    let closed = false
    const accept: Effect.Effect<UnixStream, ClosedResourceError | BusyResourceError | ListenError> = Effect
      .withFiberRuntime((fiber) => {
        if (closed) return Effect.fail(new ClosedResourceError({ operation: "accept" }))
        let client: number
        try {
          client = addon.accept(fd)
        } catch (cause) {
          return Effect.fail(listenError(path, cause))
        }
        if (client !== WOULD_BLOCK) return Effect.succeed(addonStream.make(addon, client))
        if (watcher.readerBusy(fiber)) return Effect.fail(new BusyResourceError({ operation: "accepting on" }))
        return Effect.zipRight(watcher.waitReadable, accept)
      })
    const close = Effect.suspend(() => {
      if (closed) return Effect.void
      closed = true
      watcher.close()
      addon.close(fd)
      return unlinkIfOurs(path, options.unlinkOnClose ?? false)
    })
    return internal.fromAccept([toUnixAddress(path)], accept, close)
  })

const listenWithNet = (
  path: Buffer,
  options: UnixListenerOptions,
  why: string
): Effect.Effect<ListenerService<UnixStream>, ListenError | UnsupportedError> =>
  Effect.gen(function*() {
    if (options.mode !== undefined) {
      return yield* Effect.fail(
        new UnsupportedError({ operation: "mode", why: `setting it before listen needs the native addon: ${why}` })
      )
    }
    const backlog = options.backlog ?? 511
    const server = yield* Effect.async<net.Server, ListenError>((resume) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true })
      server.once("error", (cause) => resume(Effect.fail(listenError(path, cause))))
      server.listen({ path: path.toString("utf8"), backlog }, () => {
        server.removeAllListeners("error")
        resume(Effect.succeed(server))
      })
    })
    const listener = internal.make({
      servers: [server],
      addresses: [toUnixAddress(path)],
      description: describe(path),
      backlog,
      wrap: (socket) => fromNetSocket(socket, { local: path, remote: null }, why)
    })
    return { ...listener, close: Effect.zipRight(listener.close, unlinkIfOurs(path, options.unlinkOnClose ?? false)) }
  })

/**
 * Binds a UNIX stream listener at `path` (string or bytes; `"\0name"` is a Linux abstract
 * name), ready when this effect completes. A stale socket file (nobody listening) is removed
 * first; any other file there, or a live socket, fails with `ListenError` (`AddressInUse`) and
 * is left untouched. `mode` sets the file's permission bits before the socket accepts anyone.
 * The listener is closed when the scope closes; the file stays unless `unlinkOnClose`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createUnixListener = (
  path: string | Uint8Array,
  options: UnixListenerOptions = {}
): Effect.Effect<ListenerService<UnixStream>, ListenError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    const bytes = yield* toPathBytes(path)
    if (options.backlog !== undefined) yield* checkPositiveInt(options.backlog, "backlog")
    yield* clearStale(bytes, isLive)
    const addon = yield* Effect.either(loadAddon("createUnixListener"))
    return yield* Effect.acquireRelease(
      addon._tag === "Right"
        ? listenWithAddon(addon.right, bytes, options)
        : listenWithNet(bytes, options, addon.left.why),
      (listener) => listener.close
    )
  })

/**
 * A `Listener` service bound as {@link createUnixListener} does, for as long as the layer lives.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnix = (
  path: string | Uint8Array,
  options: UnixListenerOptions = {}
): Layer.Layer<ListenerService, ListenError | InvalidArgumentError | UnsupportedError> =>
  Layer.scoped(internal.tag, createUnixListener(path, options))
