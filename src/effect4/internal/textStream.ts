/** @internal */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ByteStream, ReceiveError, TextOptions, TextStream } from "../ByteStream.js"
import { BrokenResourceError } from "../NetError.js"
import { DEFAULT_MAX_BYTES, toPull } from "./byteStream.js"

/** @internal */
export const make = (inner: ByteStream, options?: TextOptions): TextStream => {
  const decoder = new TextDecoder("utf-8", { fatal: options?.fatal ?? false })

  const decode = (bytes: Uint8Array | undefined): Effect.Effect<string, BrokenResourceError> =>
    Effect.try({
      // `stream: true` holds back a character split across chunks; `undefined` flushes at EOF.
      try: () => (bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true })),
      catch: (cause) => new BrokenResourceError({ reason: "InvalidData", operation: "decode", cause })
    })

  const receive = (maxBytes = DEFAULT_MAX_BYTES): Effect.Effect<string, ReceiveError> => {
    const loop: Effect.Effect<string, ReceiveError> = Effect.matchEffect(inner.receive(maxBytes), {
      onFailure: (error): Effect.Effect<string, ReceiveError> =>
        error._tag === "EndOfStream"
          ? Effect.flatMap(decode(undefined), (rest) => (rest.length > 0 ? Effect.succeed(rest) : Effect.fail(error)))
          : Effect.fail(error),
      onSuccess: (bytes): Effect.Effect<string, ReceiveError> =>
        Effect.flatMap(decode(bytes), (text) => (text.length > 0 ? Effect.succeed(text) : loop))
    })
    return loop
  }

  return {
    receive,
    send: (text: string) => inner.send(text),
    sendEof: inner.sendEof,
    close: inner.close,
    attributes: inner.attributes,
    stream: Stream.fromPull(Effect.succeed(toPull(receive())))
  }
}
