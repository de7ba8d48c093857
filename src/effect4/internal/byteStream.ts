/** @internal */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { ByteStream, ByteStreamCore } from "../ByteStream.js"
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
 * One receive as a `Pull` of a one-chunk batch: `EndOfStream` becomes the pull's `Done`, every
 * other failure stays in the error channel.
 */
export const toPull = <A, E>(
  receive: Effect.Effect<A, E | EndOfStream>
): Pull.Pull<readonly [A], Exclude<E, EndOfStream>> =>
  Effect.matchEffect(receive, {
    onFailure: (error): Pull.Pull<never, Exclude<E, EndOfStream>> =>
      isEndOfStream(error) ? Cause.done() : Effect.fail(error as Exclude<E, EndOfStream>),
    onSuccess: (chunk) => Effect.succeed([chunk] as const)
  })

/** @internal */
export const toStream = <E>(
  receive: Effect.Effect<Uint8Array, E | EndOfStream>
): Stream.Stream<Uint8Array, Exclude<E, EndOfStream>> => Stream.fromPull(Effect.succeed(toPull(receive)))

/**
 * @internal
 * `stream` and `sink` are built on first use: most connections never ask for them, and a
 * server makes one stream per connection.
 */
export const make = <A extends ByteStreamCore>(core: A): A & ByteStream => {
  let stream: ByteStream["stream"] | undefined
  let sink: ByteStream["sink"] | undefined
  return Object.defineProperties(core, {
    [TypeId]: { value: TypeId },
    stream: { get: () => (stream ??= toStream(core.receive())), enumerable: true },
    sink: { get: () => (sink ??= Sink.forEach((data: Uint8Array | string) => core.send(data))), enumerable: true }
  }) as A & ByteStream
}

const invalidMaxBytes = new InvalidArgumentError({ argument: "maxBytes", why: "must be a positive integer" })

/** @internal */
export const checkMaxBytes = (maxBytes: number): InvalidArgumentError | undefined =>
  Number.isSafeInteger(maxBytes) && maxBytes >= 1 ? undefined : invalidMaxBytes

const describe = (data: unknown): string =>
  data === null
    ? "null"
    : Array.isArray(data)
    ? "an array"
    : typeof data === "object"
    ? "an object"
    : `a ${typeof data}`

/**
 * @internal
 * The bytes of a payload, or the `InvalidArgumentError` to fail with: a string is its UTF-8, a
 * `Uint8Array` itself, any other `ArrayBufferView` the bytes it views; anything else is refused.
 */
export const toBytes = (data: unknown, argument = "data"): Uint8Array | InvalidArgumentError => {
  if (typeof data === "string") return Buffer.from(data, "utf8")
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new InvalidArgumentError({
    argument,
    why: `must be a Uint8Array, another ArrayBufferView or a string (got ${describe(data)})`
  })
}

/** @internal Concatenates two byte arrays (either may be empty). */
export const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  if (b.length === 0) return a
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

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
