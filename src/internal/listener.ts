/**
 * @internal
 * A Listener over one or more bound `net.Server`s (several when a name resolves to several
 * addresses). Node accepts connections itself, as fast as they come, and cannot pause
 * `accept()`; accepted sockets wait here, paused (nothing is read from them), in a queue
 * bounded by the listen backlog, until `accept` takes them. Beyond the bound, new connections
 * are closed at once, as a full kernel backlog would refuse them.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
import type { AcceptError, Listener, ServeOptions } from "../Listener/index.js"
import { ClosedResourceError, ListenError, reasonOf } from "../NetError.js"
import { serve } from "./serve.js"
import { Signal } from "./signal.js"

/** @internal */
export const tag = Context.GenericTag<Listener>("effect-sockets/Listener")

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-sockets/Listener")

/** @internal */
export interface ListenerOptions<A extends ByteStream> {
  readonly servers: ReadonlyArray<net.Server>
  readonly addresses: ReadonlyArray<SocketAddress>
  readonly description: string
  readonly backlog: number
  readonly wrap: (socket: net.Socket) => A
}

/** @internal */
export const make = <A extends ByteStream>(options: ListenerOptions<A>): Listener<A> => {
  const pending: Array<net.Socket> = []
  let acceptFailure: ListenError | undefined
  let closed = false
  const ready = new Signal(() => closed || pending.length > 0 || acceptFailure !== undefined)
  const readyWait = ready.waitExclusive("accepting on")

  for (const server of options.servers) {
    server.on("connection", (socket: net.Socket) => {
      if (closed || pending.length >= options.backlog) {
        socket.destroy()
        return
      }
      // A peer may reset while its connection waits; the stream reports it when received from.
      socket.on("error", () => {})
      pending.push(socket)
      ready.wake()
    })
    // After listening, Node reports only accept() failures here (EMFILE, ENFILE, …).
    server.on("error", (cause) => {
      acceptFailure ??= new ListenError({ reason: reasonOf(cause), address: options.description, cause })
      ready.wake()
    })
  }

  const acceptOne: Effect.Effect<A, AcceptError> = Effect.suspend((): Effect.Effect<A, AcceptError> => {
    if (closed) return Effect.fail(new ClosedResourceError({ operation: "accept" }))
    if (pending.length > 0) return Effect.sync(() => options.wrap(pending.shift()!))
    if (acceptFailure) {
      const failure = acceptFailure
      acceptFailure = undefined
      return Effect.fail(failure)
    }
    return Effect.zipRight(readyWait, acceptOne)
  })

  const close = Effect.suspend(() => {
    if (closed) return Effect.void
    closed = true
    ready.wake()
    for (const socket of pending.splice(0)) socket.destroy()
    return Effect.forEach(options.servers, closeServer, { discard: true })
  })

  return fromAccept(options.addresses, acceptOne, close)
}

/** @internal A Listener from its accept operation: `accept` and `serve` are derived from it. */
export const fromAccept = <A extends ByteStream>(
  addresses: ReadonlyArray<SocketAddress>,
  acceptUnscoped: Effect.Effect<A, AcceptError>,
  close: Effect.Effect<void>
): Listener<A> => {
  const self: Listener<A> = {
    [TypeId]: TypeId,
    addresses,
    acceptUnscoped,
    // Waiting is interruptible; once a stream is taken (a final synchronous step) it is in the
    // scope before anything can interrupt.
    accept: Effect.uninterruptibleMask((restore) =>
      Effect.tap(restore(acceptUnscoped), (stream) => Effect.addFinalizer(() => stream.close))
    ),
    serve: <E, R>(handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>, serveOptions?: ServeOptions) =>
      serve(self, handler, serveOptions),
    close
  }
  return self
}

/** @internal Stops listening; resolves once the listening socket is closed (connections stay). */
export const closeServer = (server: net.Server): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    // The callback waits for every accepted connection to end; the listening socket itself is
    // closed by the time the next loop iteration runs.
    server.close()
    setImmediate(() => resume(Effect.void))
  })
