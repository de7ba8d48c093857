/**
 * @internal
 * `ByteStream.serialized`: sends from several fibers wait their turn, strictly in arrival
 * order, instead of failing with BusyResourceError. A send waiting for its turn has touched
 * nothing, so interrupting it leaves nothing half-sent; the turn passes to the next one.
 */
import * as Effect from "effect/Effect"
import { makeFifoTurns } from "../../internal/fifoTurns.js"
import type { ByteStream } from "../ByteStream.js"
import { make as makeByteStream } from "./byteStream.js"

/** @internal A FIFO lock: no barging, so the order of arrival is the order of running. */
export const makeFifoLock = () => {
  const turns = makeFifoTurns()
  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const ticket = turns.enter()
        const turn = ticket.state === "granted" ? Effect.void : Effect.callback<void>((resume) => {
          if (ticket.state === "granted") return resume(Effect.void)
          ticket.wake = () => resume(Effect.void)
        })
        return Effect.ensuring(restore(Effect.andThen(turn, effect)), Effect.sync(() => turns.leave(ticket)))
      })
    )
}

/** @internal */
export const make = (inner: ByteStream): ByteStream => {
  const inTurn = makeFifoLock()
  return makeByteStream({
    receive: inner.receive,
    receiveBatch: inner.receiveBatch,
    send: (data: Uint8Array | string) => inTurn(inner.send(data)),
    // One turn for the whole batch: two fibers' batches never interleave.
    sendAll: (chunks: Iterable<Uint8Array | string>) => inTurn(inner.sendAll(chunks)),
    sendEof: inTurn(inner.sendEof),
    close: inner.close,
    attributes: inner.attributes
  })
}
