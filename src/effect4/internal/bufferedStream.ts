/** @internal */
import * as Effect from "effect/Effect"
import { concat } from "../../internal/batchRules.js"
import type { BufferedByteStream, ByteStream, ReceiveError } from "../ByteStream.js"
import { DelimiterNotFound, EndOfStream, IncompleteRead, InvalidArgumentError } from "../NetError.js"
import { checkMaxBytes, DEFAULT_MAX_BYTES, make as makeByteStream, toBytes } from "./byteStream.js"

type Pull = Exclude<ReceiveError, EndOfStream>
type UntilError = IncompleteRead | EndOfStream | DelimiterNotFound | Pull

const indexOf = (haystack: Uint8Array, needle: Uint8Array, from: number): number =>
  Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from)

/**
 * @internal
 * Received bytes are appended to `buffer` as soon as they arrive, so an interrupted
 * `receiveExactly`/`receiveUntil` loses nothing: the next call starts from the same buffer.
 */
export const make = (inner: ByteStream): BufferedByteStream => {
  let buffer: Uint8Array = new Uint8Array(0)

  const take = (n: number): Uint8Array => {
    const out = buffer.subarray(0, n)
    buffer = buffer.subarray(n)
    return out
  }

  // At end of stream: a clean end (nothing buffered) is EndOfStream, a truncated read IncompleteRead.
  const ended = (): EndOfStream | IncompleteRead => (buffer.length === 0 ? new EndOfStream() : new IncompleteRead())

  // Appends one more chunk from the transport; `false` at end of stream.
  const fill: Effect.Effect<boolean, Pull> = Effect.matchEffect(inner.receive(), {
    onFailure: (error) => (error._tag === "EndOfStream" ? Effect.succeed(false) : Effect.fail(error)),
    onSuccess: (chunk) =>
      Effect.sync(() => {
        buffer = concat(buffer, chunk)
        return true
      })
  })

  const receive = (maxBytes = DEFAULT_MAX_BYTES) =>
    Effect.suspend(() => {
      const invalid = checkMaxBytes(maxBytes)
      if (invalid) return Effect.fail(invalid)
      if (buffer.length > 0) return Effect.sync(() => take(maxBytes))
      return inner.receive(maxBytes)
    })

  // What is buffered comes first, as a batch of its own; then the transport's batches.
  const receiveBatch = () =>
    Effect.suspend(() => buffer.length > 0 ? Effect.sync(() => [take(buffer.length)] as const) : inner.receiveBatch())

  const receiveExactly = (n: number): Effect.Effect<Uint8Array, IncompleteRead | EndOfStream | Pull> =>
    Effect.suspend(() => {
      if (!Number.isSafeInteger(n) || n < 0) {
        return Effect.fail(new InvalidArgumentError({ argument: "n", why: "must be a non-negative integer" }))
      }
      const loop: Effect.Effect<Uint8Array, IncompleteRead | EndOfStream | Pull> = Effect.suspend(() =>
        buffer.length >= n
          ? Effect.sync(() => take(n))
          : Effect.flatMap(fill, (more) => (more ? loop : Effect.fail(ended())))
      )
      return loop
    })

  const receiveUntil = (
    delimiter: Uint8Array | string,
    maxBytes: number
  ): Effect.Effect<Uint8Array, UntilError> =>
    Effect.suspend(() => {
      const delim = toBytes(delimiter, "delimiter")
      if (delim instanceof InvalidArgumentError) return Effect.fail(delim)
      if (delim.length === 0) {
        return Effect.fail(new InvalidArgumentError({ argument: "delimiter", why: "must not be empty" }))
      }
      const invalid = checkMaxBytes(maxBytes)
      if (invalid) return Effect.fail(invalid)
      let searched = 0
      const loop: Effect.Effect<Uint8Array, UntilError> = Effect.suspend(() => {
        const index = indexOf(buffer, delim, searched)
        if (index !== -1 && index <= maxBytes) {
          return Effect.sync(() => {
            const found = take(index)
            take(delim.length)
            return found
          })
        }
        if (index > maxBytes || buffer.length >= maxBytes + delim.length) {
          return Effect.fail(new DelimiterNotFound({ maxBytes }))
        }
        // A delimiter may straddle the old end of the buffer: search again from just before it.
        searched = Math.max(0, buffer.length - delim.length + 1)
        return Effect.flatMap(fill, (more) => (more ? loop : Effect.fail(ended())))
      })
      return loop
    })

  return makeByteStream({
    receive,
    receiveBatch,
    send: inner.send,
    sendAll: inner.sendAll,
    sendEof: inner.sendEof,
    close: inner.close,
    attributes: inner.attributes,
    get buffer() {
      return buffer
    },
    feedData: (data: Uint8Array | string) =>
      Effect.suspend(() => {
        const bytes = toBytes(data)
        if (bytes instanceof InvalidArgumentError) return Effect.fail(bytes)
        buffer = concat(buffer, bytes)
        return Effect.void
      }),
    receiveExactly,
    receiveUntil
  })
}
