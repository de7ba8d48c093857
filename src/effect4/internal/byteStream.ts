/** @internal */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { type ByteBatch, byteBatch, bytesOf, isInvalid, notBytes } from "../../internal/batchRules.js"
import type { ByteStream, ByteStreamCore, ReceiveError } from "../ByteStream.js"
import { EndOfStream, InvalidArgumentError } from "../NetError.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-sockets/effect4/ByteStream")

/** @internal */
export const DEFAULT_MAX_BYTES = 65536

/** @internal */
export const isByteStream = (u: unknown): u is ByteStream => typeof u === "object" && u !== null && TypeId in u

/** @internal */
export const isEndOfStream = (error: unknown): error is EndOfStream =>
  (error as { _tag?: unknown } | undefined)?._tag === "EndOfStream"

/**
 * @internal
 * A receive as a `Pull`: `EndOfStream` becomes the pull's `Done`, every other failure stays in
 * the error channel.
 */
const endAtEof = <A, E>(receive: Effect.Effect<A, E | EndOfStream>): Pull.Pull<A, Exclude<E, EndOfStream>> =>
  Effect.catchIf(receive, isEndOfStream, () => Cause.done()) as Pull.Pull<A, Exclude<E, EndOfStream>>

const one = <A>(chunk: A): readonly [A] => [chunk]

/** @internal One receive as a `Pull` of a one-chunk batch. */
export const toPull = <A, E>(
  receive: Effect.Effect<A, E | EndOfStream>
): Pull.Pull<readonly [A], Exclude<E, EndOfStream>> => endAtEof(Effect.map(receive, one))

/** @internal */
export const toStream = <E>(
  receive: Effect.Effect<Uint8Array, E | EndOfStream>
): Stream.Stream<Uint8Array, Exclude<E, EndOfStream>> => Stream.fromPull(Effect.succeed(toPull(receive)))

/**
 * @internal
 * The `Stream` of every batch `receiveBatch` gives, each batch one array of the stream (one pull
 * per batch, not per chunk), ending cleanly at `EndOfStream`.
 */
export const toBatchStream = <E>(
  receiveBatch: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, E | EndOfStream>
): Stream.Stream<Uint8Array, Exclude<E, EndOfStream>> => Stream.fromPull(Effect.succeed(endAtEof(receiveBatch)))

/** `sendAll` for a transport without one of its own: each chunk's `send` in turn, all converted first. */
const sendEach = (core: ByteStreamCore) => (chunks: Iterable<Uint8Array | string>) =>
  Effect.suspend(() => {
    const batch = toByteBatch(chunks)
    if (batch instanceof InvalidArgumentError) return Effect.fail(batch)
    return Effect.forEach(batch.chunks, (chunk) => core.send(chunk), { discard: true })
  })

/**
 * @internal
 * `stream` and `sink` are built on first use: most connections never ask for them, and a
 * server makes one stream per connection. `receiveBatch` and `sendAll` are the transport's own
 * when it has them, else built from `receive` (a one-chunk batch) and `send`. The sink writes
 * each array it is given as one `sendAll` (one corked flush on a socket).
 */
export const make = <A extends ByteStreamCore>(core: A): A & ByteStream => {
  let stream: ByteStream["stream"] | undefined
  let sink: ByteStream["sink"] | undefined
  let defaultBatch: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, ReceiveError> | undefined
  const receiveBatch: ByteStream["receiveBatch"] = core.receiveBatch ??
    (() => (defaultBatch ??= Effect.map(core.receive(), one)))
  const sendAll: ByteStream["sendAll"] = core.sendAll ?? sendEach(core)
  return Object.defineProperties(core, {
    [TypeId]: { value: TypeId },
    receiveBatch: { value: receiveBatch, enumerable: true },
    sendAll: { value: sendAll, enumerable: true },
    stream: { get: () => (stream ??= toBatchStream(receiveBatch())), enumerable: true },
    sink: { get: () => (sink ??= Sink.forEachArray(sendAll)), enumerable: true }
  }) as A & ByteStream
}

/**
 * @internal
 * The bytes of every payload of a batch, and their total, or the first payload's
 * `InvalidArgumentError` (named `chunks[i]`): all are converted before any is sent
 * (`batchRules.byteBatch`, shared by both editions).
 */
export const toByteBatch = (chunks: Iterable<unknown>): ByteBatch | InvalidArgumentError => {
  const batch = byteBatch(chunks)
  return isInvalid(batch) ? new InvalidArgumentError(batch) : batch
}

const invalidMaxBytes = new InvalidArgumentError({ argument: "maxBytes", why: "must be a positive integer" })

/** @internal */
export const checkMaxBytes = (maxBytes: number): InvalidArgumentError | undefined =>
  Number.isSafeInteger(maxBytes) && maxBytes >= 1 ? undefined : invalidMaxBytes

/**
 * @internal
 * The bytes of a payload, or the `InvalidArgumentError` to fail with (`batchRules.bytesOf`,
 * shared by both editions).
 */
export const toBytes = (data: unknown, argument = "data"): Uint8Array | InvalidArgumentError =>
  bytesOf(data) ?? new InvalidArgumentError(notBytes(data, argument))

/**
 * @internal
 * Fails with a fresh `EndOfStream` that carries no stack trace: the end of a stream is control
 * flow, not a fault, and capturing a stack costs microseconds on every connection's last receive.
 */
export const failEndOfStream: Effect.Effect<never, EndOfStream> = Effect.failSync(() => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new EndOfStream()
  } finally {
    Error.stackTraceLimit = limit
  }
})
