/**
 * @internal
 * `ByteStream.serialized`: sends from several fibers wait their turn, strictly in arrival
 * order, instead of failing with BusyResourceError. A send waiting for its turn has touched
 * nothing, so interrupting it leaves nothing half-sent; the turn passes to the next one.
 */
import * as Effect from "effect/Effect"
import type { ByteStream } from "../ByteStream.js"
import { make as makeByteStream } from "./byteStream.js"

interface Ticket {
  state: "waiting" | "granted" | "done"
  wake: (() => void) | undefined
}

/** @internal A FIFO lock: no barging, so the order of arrival is the order of running. */
export const makeFifoLock = () => {
  const queue: Array<Ticket> = []
  let busy = false

  // Hands the lock to the first ticket still waiting, or frees it.
  const grantNext = () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (next.state !== "waiting") continue
      next.state = "granted"
      next.wake?.()
      return
    }
    busy = false
  }

  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const ticket: Ticket = { state: "waiting", wake: undefined }
        if (busy) queue.push(ticket)
        else {
          busy = true
          ticket.state = "granted"
        }
        const turn = ticket.state === "granted" ? Effect.void : Effect.callback<void>((resume) => {
          if (ticket.state === "granted") return resume(Effect.void)
          ticket.wake = () => resume(Effect.void)
        })
        // Whatever ends this (success, failure, interruption while waiting or sending), the
        // ticket is retired: a granted one passes the turn on, a waiting one is skipped later.
        return Effect.ensuring(
          restore(Effect.andThen(turn, effect)),
          Effect.sync(() => {
            const was = ticket.state
            ticket.state = "done"
            if (was === "granted") grantNext()
          })
        )
      })
    )
}

/** @internal */
export const make = (inner: ByteStream): ByteStream => {
  const inTurn = makeFifoLock()
  return makeByteStream({
    receive: inner.receive,
    send: (data: Uint8Array | string) => inTurn(inner.send(data)),
    sendEof: inTurn(inner.sendEof),
    close: inner.close,
    attributes: inner.attributes
  })
}
