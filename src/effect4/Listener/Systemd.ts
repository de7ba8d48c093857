/**
 * Socket activation: listeners systemd (or `systemd-socket-activate`) passed to this process.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { notFoundAddress } from "../../internal/systemdRules.js"
import * as adopt from "../internal/adopt.js"
import * as internal from "../internal/listener.js"
import * as systemd from "../internal/systemd.js"
import { type InvalidArgumentError, ListenError, type UnsupportedError } from "../NetError.js"
import type { Listener } from "./index.js"

/**
 * Options of {@link fromSystemd}.
 *
 * @since 0.2.0
 * @category models
 */
export interface SystemdOptions {
  /** Only the fds of this name (LISTEN_FDNAMES, systemd's `FileDescriptorName=`). */
  readonly name?: string
  /** Leave LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES set (default: unset once read, as sd_listen_fds(…, 1)). */
  readonly keepEnvironment?: boolean
}

/**
 * The listening stream sockets (TCP or UNIX) passed to this process by socket activation,
 * as sd_listen_fds(3) defines it: fds from 3, LISTEN_FDS of them, only when LISTEN_PID is this
 * process (otherwise none: they were meant for another process), named by LISTEN_FDNAMES. The
 * variables are unset once read unless `keepEnvironment`; what was read is remembered, so a
 * later call (or `Datagram.fromSystemd`) still finds the fds nobody adopted yet. Datagram fds
 * are left for `Datagram.fromSystemd`. Each listener owns its fd and closes it with the scope.
 * Needs the native addon (to tell what each fd is).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromSystemd = (
  options: SystemdOptions = {}
): Effect.Effect<ReadonlyArray<Listener>, InvalidArgumentError | UnsupportedError | ListenError, Scope.Scope> =>
  systemd.adoptActivated(
    options,
    "listening stream",
    "Listener.fromSystemd",
    (fd) =>
      Effect.map(
        Effect.acquireRelease(adopt.listenerFromFd(fd, 511), (l): Effect.Effect<void> => l.close),
        (listener) => listener as Listener
      )
  )

/**
 * The first listener {@link fromSystemd} finds (of `name`, if given) as the generic
 * `Listener.Listener` service, for `Listener.serve`. None is a `ListenError` (reason
 * `"NotFound"`): the process was not socket-activated, or not with such a socket.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSystemd = (
  options: SystemdOptions = {}
): Layer.Layer<Listener, InvalidArgumentError | UnsupportedError | ListenError> =>
  Layer.effectContext(Effect.gen(function*() {
    const [first] = yield* fromSystemd(options)
    if (first === undefined) {
      return yield* Effect.fail(
        new ListenError({
          reason: "NotFound",
          address: notFoundAddress(options.name)
        })
      )
    }
    return Context.make(internal.tag, first)
  }))
