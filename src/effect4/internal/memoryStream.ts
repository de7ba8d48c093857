/** @internal */
import * as Effect from "effect/Effect"
import type {
  Attributes,
  ByteReceiveStream,
  ByteSendStream,
  ByteStream,
  MemoryOptions,
  ReceiveError,
  SendError
} from "../ByteStream.js"
import { BrokenResourceError, ClosedResourceError, InvalidArgumentError } from "../NetError.js"
import { checkMaxBytes, DEFAULT_MAX_BYTES, failEndOfStream, make as makeByteStream, toBytes } from "./byteStream.js"
import { Signal } from "./signal.js"

const receiverGone = new Error("the receiving end of the in-memory stream is closed")

/** @internal */
export const makePipe = (
  options?: MemoryOptions
): Effect.Effect<readonly [ByteSendStream, ByteReceiveStream], InvalidArgumentError> =>
  Effect.suspend(() => {
    const capacity = options?.bufferSize ?? 16
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      return Effect.fail(new InvalidArgumentError({ argument: "bufferSize", why: "must be a positive integer" }))
    }
    const chunks: Array<Uint8Array> = []
    let sendClosed = false
    let receiveClosed = false
    const dataReady = new Signal(() => receiveClosed || sendClosed || chunks.length > 0)
    const spaceReady = new Signal(() => receiveClosed || sendClosed || chunks.length < capacity)
    const dataWait = dataReady.waitExclusive("reading from")
    const spaceWait = spaceReady.waitExclusive("writing to")

    const send = (data: Uint8Array | string): Effect.Effect<void, SendError> =>
      Effect.suspend(() => {
        const bytes = toBytes(data)
        return bytes instanceof InvalidArgumentError ? Effect.fail(bytes) : sendBytes(bytes)
      })

    const sendBytes = (bytes: Uint8Array): Effect.Effect<void, SendError> =>
      Effect.suspend(() => {
        if (sendClosed) return Effect.fail(new ClosedResourceError({ operation: "send" }))
        if (receiveClosed) {
          return Effect.fail(new BrokenResourceError({ reason: "BrokenPipe", operation: "send", cause: receiverGone }))
        }
        if (chunks.length < capacity) {
          if (bytes.length > 0) chunks.push(bytes)
          dataReady.wake()
          return Effect.void
        }
        return Effect.andThen(spaceWait, sendBytes(bytes))
      })

    const receive = (maxBytes = DEFAULT_MAX_BYTES): Effect.Effect<Uint8Array, ReceiveError> =>
      Effect.suspend(() => {
        if (receiveClosed) return Effect.fail(new ClosedResourceError({ operation: "receive" }))
        const invalid = checkMaxBytes(maxBytes)
        if (invalid) return Effect.fail(invalid)
        if (chunks.length > 0) {
          // The final step; another reader may have emptied the pipe since the check above.
          return Effect.suspend(() => {
            const head = chunks[0]
            if (head === undefined) return receive(maxBytes)
            spaceReady.wake()
            if (head.length <= maxBytes) return Effect.succeed(chunks.shift()!)
            chunks[0] = head.subarray(maxBytes)
            return Effect.succeed(head.subarray(0, maxBytes))
          })
        }
        if (sendClosed) return failEndOfStream
        return Effect.andThen(dataWait, receive(maxBytes))
      })

    const sender: ByteSendStream = {
      send,
      close: Effect.sync(() => {
        sendClosed = true
        dataReady.wake()
        spaceReady.wake()
      })
    }
    const receiver: ByteReceiveStream = {
      receive,
      close: Effect.sync(() => {
        receiveClosed = true
        chunks.length = 0
        dataReady.wake()
        spaceReady.wake()
      })
    }
    return Effect.succeed([sender, receiver] as const)
  })

/** @internal */
export const staple = (
  sendStream: ByteSendStream,
  receiveStream: ByteReceiveStream & { readonly attributes?: Attributes }
): ByteStream => {
  let closed = false
  return makeByteStream({
    receive: receiveStream.receive,
    send: sendStream.send,
    // As on sockets: after close, sendEof is a ClosedResourceError, not a no-op.
    sendEof: Effect.suspend(() =>
      closed ? Effect.fail(new ClosedResourceError({ operation: "sendEof" })) : sendStream.close
    ),
    close: Effect.suspend(() => {
      closed = true
      return Effect.andThen(sendStream.close, receiveStream.close)
    }),
    attributes: receiveStream.attributes ?? {}
  })
}

/** @internal */
export const makePair = (
  options?: MemoryOptions
): Effect.Effect<readonly [ByteStream, ByteStream], InvalidArgumentError> =>
  Effect.zipWith(
    makePipe(options),
    makePipe(options),
    ([aSend, bReceive], [bSend, aReceive]) => [staple(aSend, aReceive), staple(bSend, bReceive)] as const
  )
