/**
 * @internal
 * The Effect 4 edition's listeners: a Listener over the shared node:net accept queue, and
 * `fromAccept`, which derives `accept` and `serve` from any transport's accept operation.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import { closeServer as closeServerNow, NetAcceptQueue } from "../../internal/driver/netListener.js"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
import type { AcceptError, Listener, Serve, ServeError, ServeOptions } from "../Listener/index.js"
import { closed, listenFailed } from "./errors.js"
import { serve } from "./serve.js"
import { Signal } from "./signal.js"

/** @internal */
export const tag = Context.Service<Listener>("effect-sockets/Listener")

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-sockets/Listener")

/** @internal */
export interface ListenerOptions<A extends ByteStream, Address extends SocketAddress> {
  readonly servers: ReadonlyArray<net.Server>
  readonly addresses: ReadonlyArray<Address>
  readonly description: string
  readonly backlog: number
  readonly wrap: (socket: net.Socket) => A
}

/** @internal */
export const make = <A extends ByteStream, Address extends SocketAddress>(
  options: ListenerOptions<A, Address>
): Listener<A, Address> => {
  const ready = new Signal(() => queue.closed || queue.size > 0 || queue.failure !== undefined)
  const queue = new NetAcceptQueue(options.servers, options.backlog, () => ready.wakeSoon())
  const readyWait = ready.waitExclusive("accepting on")

  const acceptOne: Effect.Effect<A, AcceptError> = Effect.suspend((): Effect.Effect<A, AcceptError> => {
    if (queue.closed) return Effect.fail(closed("accept"))
    if (queue.size > 0) return Effect.sync(() => options.wrap(queue.take()))
    const failure = queue.takeFailure()
    if (failure) return Effect.fail(listenFailed(options.description, failure))
    return Effect.andThen(readyWait, acceptOne)
  })

  const close = Effect.suspend(() => {
    if (queue.closed) return Effect.void
    queue.close()
    ready.wake()
    return Effect.forEach(options.servers, closeServer, { discard: true })
  })

  return fromAccept(options.addresses, acceptOne, close)
}

/** @internal A Listener from its accept operation: `accept` and `serve` are derived from it. */
export const fromAccept = <A extends ByteStream, Address extends SocketAddress>(
  addresses: ReadonlyArray<Address>,
  acceptUnscoped: Effect.Effect<A, AcceptError>,
  close: Effect.Effect<void>
): Listener<A, Address> => {
  const self: Listener<A, Address> = {
    [TypeId]: TypeId,
    addresses,
    acceptUnscoped,
    // Waiting is interruptible; once a stream is taken (a final synchronous step) it is in the
    // scope before anything can interrupt.
    accept: Effect.uninterruptibleMask((restore) =>
      Effect.tap(restore(acceptUnscoped), (stream) => Effect.addFinalizer(() => stream.close))
    ),
    serve: asServe(<E, R>(
      handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>,
      serveOptions?: ServeOptions
    ) => serve(self, handler, serveOptions)),
    close
  }
  return self
}

/**
 * @internal
 * `serve` typed by `onHandlerError` (the overloads of `Serve`): under `"log"` a handler's
 * failure is caught and logged, so it never reaches the result.
 */
export const asServe = <A extends ByteStream>(
  implementation: <E, R>(
    handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>,
    options?: ServeOptions
  ) => Effect.Effect<never, ServeError<E>, Exclude<R, Scope.Scope>>
): Serve<A> => implementation as Serve<A>

/** @internal Stops listening; resolves once the listening socket is closed (connections stay). */
export const closeServer = (server: net.Server): Effect.Effect<void> =>
  Effect.callback<void>((resume) => closeServerNow(server, () => resume(Effect.void)))
