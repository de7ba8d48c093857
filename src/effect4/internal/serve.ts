/**
 * @internal
 * `serve` (Effect 4 edition): accept connections forever, each handled on its own fiber in a FiberSet, scoped to
 * its handler. Policy (logging, failure mode, back-off, connection limit, draining) lives here
 * once for every listener.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
import type { Listener, ServeError, ServeOptions } from "../Listener/index.js"
import { addressAttributes, annotateFailure, metrics } from "./telemetry.js"
import { checkOptions, checkPositiveInt, decodeDuration } from "./validate.js"

const ACCEPT_BACKOFF = Duration.millis(100)

/** @internal */
export const serve = <A extends ByteStream, E, R>(
  listener: Listener<A, SocketAddress>,
  handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>,
  options: ServeOptions = {}
): Effect.Effect<never, ServeError<E>, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.gen(function*() {
    yield* checkOptions(options)
    // -1 would never serve and NaN would mean no limit: refused, like every bad argument.
    if (options.maxConnections !== undefined) yield* checkPositiveInt(options.maxConnections, "maxConnections")
    const drainTimeout = yield* decodeDuration(options.drainTimeout, "drainTimeout")
    const fibers = yield* FiberSet.make<unknown, E>()
    if (drainTimeout !== undefined) {
      // Runs before the FiberSet interrupts what is left: handlers get drainTimeout to finish.
      // Finalizers are uninterruptible: the wait must be made interruptible for the timeout to cut it.
      yield* Effect.addFinalizer(() =>
        Effect.interruptible(FiberSet.awaitEmpty(fibers)).pipe(Effect.timeoutOption(drainTimeout))
      )
    }
    const permits = options.maxConnections === undefined
      ? undefined
      : yield* Semaphore.make(options.maxConnections)
    const failFast = options.onHandlerError === "fail"

    const handle = (stream: A): Effect.Effect<void, E, Exclude<R, Scope.Scope>> => {
      // One span per connection; the handler runs inside it (its own spans are children).
      const run = Effect.scoped(handler(stream)).pipe(
        annotateFailure,
        Effect.ensuring(stream.close),
        Effect.withSpan("Listener.connection", {
          kind: "server",
          attributes: addressAttributes(stream.attributes, true)
        })
      )
      const guarded = failFast ? run : run.pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ?
            Effect.void :
            Effect.andThen(
              Metric.update(metrics.handlerFailures, 1),
              Effect.logError("effect-sockets: connection handler failed", cause).pipe(
                Effect.annotateLogs("remoteAddress", stream.attributes.remoteAddress)
              )
            )
        )
      )
      return Effect.asVoid(permits ? Effect.ensuring(guarded, Semaphore.release(permits, 1)) : guarded)
    }

    const acceptNext = Effect.uninterruptibleMask((restore) =>
      Effect.andThen(
        permits ? restore(Semaphore.take(permits, 1)) : Effect.void,
        restore(listener.acceptUnscoped).pipe(
          Effect.tapError(() => permits ? Semaphore.release(permits, 1) : Effect.void),
          // The stream passes to its handler's fiber before anything can interrupt us.
          Effect.flatMap((stream) =>
            Effect.andThen(
              Metric.update(metrics.connectionsAccepted, 1),
              FiberSet.run(fibers, Effect.interruptible(handle(stream)))
            )
          )
        )
      )
    ).pipe(
      // EMFILE/ENFILE and other accept failures: back off instead of spinning, then go on.
      Effect.catchTags({
        ListenError: (error) =>
          (error.reason === "TooManyOpenFiles"
            ? Effect.logWarning("effect-sockets: out of file descriptors, accepting again shortly", error)
            : Effect.logError("effect-sockets: accept failed", error)).pipe(
              Effect.andThen(Effect.sleep(ACCEPT_BACKOFF))
            ),
        // Only listeners that do more than accept (TLS via accept) fail per connection: go on.
        TlsError: (error) => Effect.logWarning("effect-sockets: connection failed while accepting", error),
        BrokenResourceError: (error) => Effect.logWarning("effect-sockets: connection failed while accepting", error)
      })
    )

    const acceptLoop = Effect.forever(acceptNext)
    return yield* (failFast
      ? Effect.raceFirst(acceptLoop, Effect.andThen(FiberSet.join(fibers), Effect.never))
      : acceptLoop)
  }))
