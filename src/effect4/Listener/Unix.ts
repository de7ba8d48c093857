/**
 * UNIX stream listeners: stale socket files are replaced, other files never; `mode` is set
 * before anyone can connect.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as rules from "../../internal/argumentRules.js"
import * as internal from "../internal/listener.js"
import { clearStale, toPathBytes, unlinkOnClose } from "../internal/unixPath.js"
import * as unixStream from "../internal/unixStream.js"
import { check, checkOptions } from "../internal/validate.js"
import type { InvalidArgumentError, ListenError, UnsupportedError } from "../NetError.js"
import type { Listener as ListenerService, UnixListenerService } from "./index.js"

/**
 * The UNIX stream listener service, `Listener<UnixStream, UnixAddress>`, as provided by
 * `layerUnix`. Serve from it with `serveWith(UnixListener, handler)`: the handler gets a
 * `UnixStream` (and may `sendFds`).
 *
 * @since 0.2.0
 * @category tags
 */
export class UnixListener extends Context.Service<UnixListener, UnixListenerService>()("effect-sockets/UnixListener") {}

/**
 * Options of {@link createUnixListener}.
 *
 * @since 0.2.0
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

/**
 * Binds a UNIX stream listener at `path` (string or bytes; `"\0name"` is a Linux abstract
 * name), ready when this effect completes. A stale socket file (nobody listening) is removed
 * first; any other file there, or a live socket, fails with `ListenError` (`AddressInUse`) and
 * is left untouched. `mode` sets the file's permission bits before the socket accepts anyone.
 * The listener is closed when the scope closes; the file stays unless `unlinkOnClose`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const createUnixListener = (
  path: string | Uint8Array,
  options: UnixListenerOptions = {}
): Effect.Effect<UnixListenerService, ListenError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    const bytes = yield* toPathBytes(path)
    yield* checkOptions(options)
    if (options.backlog !== undefined) yield* check(rules.invalidBacklog(options.backlog))
    yield* check(rules.invalidMode(options.mode, "mode"))
    yield* clearStale(bytes, unixStream.probe)
    const backlog = options.backlog ?? 511
    const onClose = unlinkOnClose(bytes, options.unlinkOnClose ?? false)
    return yield* Effect.acquireRelease(
      unixStream.listen(bytes, { mode: options.mode, backlog }, onClose),
      (listener) => listener.close
    )
  })

/**
 * A listener bound as {@link createUnixListener} does, for as long as the layer lives. It
 * provides the stream-typed `UnixListener` tag and the generic `Listener` tag (so
 * `Listener.serve` keeps working).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerUnix = (
  path: string | Uint8Array,
  options: UnixListenerOptions = {}
): Layer.Layer<UnixListener | ListenerService, ListenError | InvalidArgumentError | UnsupportedError> =>
  Layer.effectContext(
    Effect.map(
      createUnixListener(path, options),
      (listener) => Context.make(internal.tag, listener).pipe(Context.add(UnixListener, listener))
    )
  )
