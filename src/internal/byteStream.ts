/** @internal */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { ByteStream, ByteStreamCore, ReceiveError } from "../ByteStream.js"
import { EndOfStream, InvalidArgumentError } from "../NetError.js"
import { type ByteBatch, byteBatch, bytesOf, isInvalid, notBytes } from "./batchRules.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-sockets/ByteStream")

/** @internal */
export const DEFAULT_MAX_BYTES = 65536

/** @internal */
export const isByteStream = (u: unknown): u is ByteStream => typeof u === "object" && u !== null && TypeId in u

const isEndOfStream = (error: unknown): error is EndOfStream =>
  (error as { _tag?: unknown } | undefined)?._tag === "EndOfStream"

/** @internal */
export const toStream = <E>(
  receive: Effect.Effect<Uint8Array, E | EndOfStream>
): Stream.Stream<Uint8Array, Exclude<E, EndOfStream>> =>
  Stream.repeatEffectChunkOption(
    Effect.matchEffect(receive, {
      onFailure: (error) =>
        isEndOfStream(error) ? Effect.fail(Option.none()) : Effect.fail(Option.some(error as Exclude<E, EndOfStream>)),
      onSuccess: (bytes) => Effect.succeed(Chunk.of(bytes))
    })
  )

/**
 * @internal
 * The `Stream` of every batch `receiveBatch` gives, each batch one `Chunk` of the stream (one
 * pull per batch, not per chunk), ending cleanly at `EndOfStream`.
 */
export const toBatchStream = <E>(
  receiveBatch: Effect.Effect<Chunk.NonEmptyChunk<Uint8Array>, E | EndOfStream>
): Stream.Stream<Uint8Array, Exclude<E, EndOfStream>> =>
  Stream.repeatEffectChunkOption(
    Effect.mapError(
      receiveBatch,
      (error) => isEndOfStream(error) ? Option.none() : Option.some(error as Exclude<E, EndOfStream>)
    )
  )

/**
 * @internal
 * A batch receive for a transport without one of its own: one `receive`, as a one-chunk batch.
 */
const singleBatch = <E>(
  receive: Effect.Effect<Uint8Array, E>
): Effect.Effect<Chunk.NonEmptyChunk<Uint8Array>, E> => Effect.map(receive, Chunk.of)

/** @internal `sendAll` for a transport without one of its own: each chunk's `send` in turn. */
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
 * when it has them, else built from `receive` and `send`. The sink writes each `Chunk` it is
 * given as one `sendAll` (one corked flush on a socket).
 */
export const make = <A extends ByteStreamCore>(core: A): A & ByteStream => {
  let stream: ByteStream["stream"] | undefined
  let sink: ByteStream["sink"] | undefined
  let defaultBatch: Effect.Effect<Chunk.NonEmptyChunk<Uint8Array>, ReceiveError> | undefined
  const receiveBatch: ByteStream["receiveBatch"] = core.receiveBatch ??
    (() => (defaultBatch ??= singleBatch(core.receive())))
  const sendAll: ByteStream["sendAll"] = core.sendAll ?? sendEach(core)
  return Object.defineProperties(core, {
    [TypeId]: { value: TypeId },
    receiveBatch: { value: receiveBatch, enumerable: true },
    sendAll: { value: sendAll, enumerable: true },
    stream: { get: () => (stream ??= toBatchStream(receiveBatch())), enumerable: true },
    sink: {
      get: () => (sink ??= Sink.forEachChunk((chunk: Chunk.Chunk<Uint8Array | string>) => sendAll(chunk))),
      enumerable: true
    }
  }) as A & ByteStream
}

/**
 * @internal
 * The bytes of every payload of a batch, and their total, or the first payload's
 * `InvalidArgumentError` (named `chunks[i]`): all are converted before any is sent. Empty
 * payloads are left out (they would be writes with nothing to write).
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
 * The bytes of a payload, or the `InvalidArgumentError` to fail with: the one conversion every
 * transport's send (stream `send`, `sendFds`, datagram `send`/`sendto`) goes through before
 * any I/O (the rule is `batchRules.bytesOf`, shared by both editions).
 */
export const toBytes = (data: unknown, argument = "data"): Uint8Array | InvalidArgumentError =>
  bytesOf(data) ?? new InvalidArgumentError(notBytes(data, argument))

/**
 * @internal
 * Fails with a fresh `EndOfStream` that carries no stack trace: the end of a stream is control
 * flow, not a fault, and capturing a stack costs about 4 µs (0.5 µs without, measured) on every
 * connection's last receive.
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
