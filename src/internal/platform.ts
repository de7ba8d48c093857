/**
 * @internal
 * The bridge to `@effect/platform`'s `Socket` and `SocketServer`, with the semantics of
 * `@effect/platform-node`'s `NodeSocket.fromDuplex` and `NodeSocketServer.make`:
 *
 * - each `run`/`runRaw` opens a connection of its own (a connectable dials anew; an accepted
 *   stream can be run once, a second run fails with `SocketCloseError`), and closes it when it
 *   ends; interrupting `run` closes everything;
 * - every received chunk is handed to the handler at once (all the chunks one `receiveBatch`
 *   gives, in order, without a yield to the scheduler per chunk); an Effect it returns is forked into
 *   the run's `FiberSet` (never awaited: rpc clients offer into bounded mailboxes, and awaiting
 *   would stall every other response behind a slow stream consumer); a failing one fails `run`;
 * - `EndOfStream` ends `run` normally; open/read/write failures are `SocketGenericError`s with
 *   reason `Open`/`Read`/`Write` and our typed error as `cause`;
 * - `writer` waits for a running `run` (closed before the connection is), serialises concurrent
 *   writes (a FIFO lock per run, as `ByteStream.serialized` has, with the final `sendEof` in turn),
 *   closes the connection on a `CloseEvent` and half-closes it (`sendEof`) when its scope closes.
 */
import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import type * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { ByteStream, ReceiveError, SocketAddress } from "../ByteStream.js"
import type { Listener } from "../Listener/index.js"
import type { Connectable } from "../Socket/Connectable.js"
import { tag as ListenerTag } from "./listener.js"
import { makeFifoLock } from "./serializedStream.js"

/** @internal */
export interface SocketOptions {
  readonly openTimeout?: Duration.DurationInput | undefined
}

interface Current {
  readonly stream: ByteStream
  /** Sends (and the final `sendEof`) one at a time, in arrival order: a stream allows one waiting sender. */
  readonly inTurn: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly fiberSet: FiberSet.FiberSet<any, any>
}

const writeError = (cause: unknown) => new Socket.SocketGenericError({ reason: "Write", cause })

const fromOpen = (
  open: Effect.Effect<ByteStream, Socket.SocketError, Scope.Scope>,
  options?: SocketOptions
): Effect.Effect<Socket.Socket> =>
  Effect.sync(() => {
    let current: Current | undefined
    const latch = Effect.unsafeMakeLatch(false)

    const run = <_, E = never, R = never>(
      handler: (_: Uint8Array) => Effect.Effect<_, E, R> | void,
      opts?: { readonly onOpen?: Effect.Effect<void> | undefined }
    ): Effect.Effect<void, Socket.SocketError | E, R> =>
      Effect.scopedWith(Effect.fnUntraced(function*(scope) {
        const fiberSet = yield* FiberSet.make<any, E | Socket.SocketError>().pipe(Scope.extend(scope))
        const opened = Scope.extend(open, scope)
        const stream = yield* (options?.openTimeout === undefined ? opened : opened.pipe(
          Effect.timeoutFail({
            duration: options.openTimeout,
            onTimeout: () =>
              new Socket.SocketGenericError({ reason: "OpenTimeout", cause: new Error("Connection timed out") })
          })
        ))
        // Runs before the stream is closed: a write from now on waits for the next run.
        yield* Scope.addFinalizer(scope, Effect.sync(() => latch.unsafeClose()))
        const runFork = yield* FiberSet.runtime(fiberSet)<R>()
        const deliver = (chunks: Chunk.Chunk<Uint8Array>) => {
          for (const chunk of chunks) {
            const result = handler(chunk)
            if (Effect.isEffect(result)) runFork(result)
          }
        }
        // Every chunk queued at a wake-up in one receive. Not Effect.forever: it yields to the
        // scheduler after each turn (a scheduled task per message); the runtime's own op budget
        // still yields a loop that never waits.
        const receiveBatch = stream.receiveBatch()
        const readLoop: Effect.Effect<void, ReceiveError> = Effect.flatMap(
          Effect.map(receiveBatch, deliver),
          () => readLoop
        )
        const reading = readLoop.pipe(
          Effect.catchAll((error) =>
            error._tag === "EndOfStream"
              ? Deferred.done(fiberSet.deferred, Exit.void)
              : Effect.fail(new Socket.SocketGenericError({ reason: "Read", cause: error }))
          ),
          Effect.asVoid
        )
        yield* FiberSet.run(fiberSet, reading)
        current = { stream, inTurn: makeFifoLock(), fiberSet }
        yield* latch.open
        if (opts?.onOpen) yield* opts.onOpen
        return yield* FiberSet.join(fiberSet)
      })).pipe(
        Effect.ensuring(Effect.sync(() => {
          latch.unsafeClose()
          current = undefined
        })),
        Effect.interruptible
      )

    const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
      latch.whenOpen(Effect.suspend(() => {
        const { fiberSet, inTurn, stream } = current!
        if (Socket.isCloseEvent(chunk)) {
          // As a destroyed net.Socket reports it: an error above 1000, a clean close otherwise.
          Deferred.unsafeDone(
            fiberSet.deferred,
            Exit.fail(
              chunk.code > 1000
                ? new Socket.SocketGenericError({ reason: "Read", cause: new Error(`closed with code ${chunk.code}`) })
                : new Socket.SocketCloseError({ reason: "Close", code: 1000 })
            )
          )
          return stream.close
        }
        return Effect.mapError(inTurn(stream.send(chunk)), writeError)
      }))

    const writer = Effect.acquireRelease(
      Effect.succeed(write),
      () =>
        Effect.suspend(() =>
          current === undefined ? Effect.void : Effect.ignore(current.inTurn(current.stream.sendEof))
        )
    )

    return Socket.Socket.of({ [Socket.TypeId]: Socket.TypeId, run, runRaw: run, writer })
  })

const openError = (cause: unknown) => new Socket.SocketGenericError({ reason: "Open", cause })

/** @internal */
export const toSocket = <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options?: SocketOptions
): Effect.Effect<Socket.Socket> => fromOpen(Effect.mapError(connectable.connect, openError), options)

/** @internal */
export const layerSocket = <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options?: SocketOptions
): Layer.Layer<Socket.Socket> => Layer.effect(Socket.Socket, toSocket(connectable, options))

/** @internal */
export const fromStream = (stream: ByteStream): Effect.Effect<Socket.Socket> => {
  let used = false
  return fromOpen(Effect.suspend(() => {
    if (used) return Effect.fail(new Socket.SocketCloseError({ reason: "Close", code: 1000 }))
    used = true
    return Effect.acquireRelease(Effect.succeed(stream), (s) => s.close)
  }))
}

const decoder = new TextDecoder()

/** @internal */
export const toAddress = (address: SocketAddress | undefined): SocketServer.Address =>
  address === undefined
    ? { _tag: "UnixAddress", path: "" }
    : address._tag === "InetAddress"
    ? { _tag: "TcpAddress", hostname: address.host, port: address.port }
    : { _tag: "UnixAddress", path: typeof address.path === "string" ? address.path : decoder.decode(address.path) }

const reportUnhandledError = <E>(cause: Cause.Cause<E>): Effect.Effect<void> =>
  Effect.withFiberRuntime<void>((fiber) => {
    const level = fiber.getFiberRef(FiberRef.unhandledErrorLogLevel)
    return level._tag === "Some"
      ? Effect.logWithLevel(level.value, cause, "Unhandled error in SocketServer")
      : Effect.void
  })

/** @internal */
export const toSocketServer = <A extends ByteStream>(
  listener: Listener<A, SocketAddress>
): SocketServer.SocketServer["Type"] =>
  SocketServer.SocketServer.of({
    address: toAddress(listener.addresses[0]),
    run: <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>) =>
      listener.serve((stream) =>
        fromStream(stream).pipe(
          Effect.flatMap(handler),
          Effect.catchAllCause(reportUnhandledError)
        )
      ).pipe(
        Effect.mapError((cause) => new SocketServer.SocketServerError({ reason: "Unknown", cause }))
      ) as Effect.Effect<never, SocketServer.SocketServerError, R>
  })

/** @internal */
export const layerSocketServer: Layer.Layer<SocketServer.SocketServer, never, Listener> = Layer.effect(
  SocketServer.SocketServer,
  Effect.map(ListenerTag, toSocketServer)
)
