/**
 * @internal
 * Effect layer of TLS over any ByteStream: two long-lived fibers pump a `TransportDuplex` (one
 * receiving, one sending), so a chunk costs a fiber wake-up, not a new fiber. The Duplex owns
 * the inner stream: destroying it closes the inner stream.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type { ByteStream } from "../ByteStream.js"
import { TransportDuplex, TransportError } from "./driver/tlsTransport.js"
import { Signal } from "./signal.js"

/** @internal A Duplex whose reads are `inner`'s receives and whose writes are its sends. */
export const pumpedDuplex = (inner: ByteStream): TransportDuplex => {
  const duplex = new TransportDuplex()
  const wantData = new Signal(() => duplex.readRequested)
  const writeReady = new Signal(() => duplex.writes.length > 0)

  // Receives a batch and pushes it (one wake-up for all that arrived); waits for `_read` when
  // Node's buffer is full (a batch may overfill it by the batch's own bounded size).
  const readLoop: Effect.Effect<void> = Effect.matchEffect(Effect.suspend(() => inner.receiveBatch()), {
    onSuccess: (batch) =>
      Effect.suspend(() => {
        duplex.readRequested = false
        let room = true
        for (const chunk of batch) room = duplex.push(chunk)
        if (room) return readLoop
        return Effect.zipRight(wantData.wait, readLoop)
      }),
    onFailure: (error) =>
      Effect.sync(() => {
        if (error._tag === "EndOfStream") duplex.push(null)
        else duplex.destroy(new TransportError(error))
      })
  })

  // Sends queued writes in order, every write queued so far as one batch (sendAll); an empty
  // chunk marks the end (sendEof).
  const writeLoop: Effect.Effect<void> = Effect.suspend(() => {
    const next = duplex.writes[0]
    if (next === undefined) return Effect.zipRight(writeReady.wait, writeLoop)
    if (next.chunk === undefined) {
      duplex.writes.shift()
      return Effect.zipRight(Effect.ignore(inner.sendEof), Effect.sync(() => next.callback()))
    }
    let end = 1
    while (end < duplex.writes.length && duplex.writes[end]!.chunk !== undefined) end++
    const batch = duplex.writes.splice(0, end)
    return Effect.matchEffect(inner.sendAll(batch.map((write) => write.chunk!)), {
      onSuccess: () => Effect.zipRight(Effect.sync(() => batch.forEach((write) => write.callback())), writeLoop),
      onFailure: (error) => Effect.sync(() => batch.forEach((write) => write.callback(new TransportError(error))))
    })
  })

  const pumps = [Effect.runFork(readLoop), Effect.runFork(writeLoop)]
  duplex.pump = {
    wantRead: () => wantData.wake(),
    wantWrite: () => writeReady.wake(),
    destroy: (done) =>
      Effect.runCallback(Effect.zipRight(Fiber.interruptAll(pumps), inner.close), { onExit: () => done() })
  }
  return duplex
}
