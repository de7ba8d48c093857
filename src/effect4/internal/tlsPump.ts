/**
 * @internal
 * The Effect 4 edition's TLS over any ByteStream: two long-lived fibers pump a `TransportDuplex` (one
 * receiving, one sending), so a chunk costs a fiber wake-up, not a new fiber. The Duplex owns
 * the inner stream: destroying it closes the inner stream.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TransportDuplex, TransportError } from "../../internal/driver/tlsTransport.js"
import type { ByteStream } from "../ByteStream.js"
import { Signal } from "./signal.js"

/** @internal A Duplex whose reads are `inner`'s receives and whose writes are its sends. */
export const pumpedDuplex = (inner: ByteStream): TransportDuplex => {
  const duplex = new TransportDuplex()
  const wantData = new Signal(() => duplex.readRequested)
  const writeReady = new Signal(() => duplex.writes.length > 0)

  // Receives and pushes; waits for `_read` when Node's buffer is full.
  const readLoop: Effect.Effect<void> = Effect.matchEffect(Effect.suspend(() => inner.receive()), {
    onSuccess: (chunk) =>
      Effect.suspend(() => {
        duplex.readRequested = false
        if (duplex.push(chunk)) return readLoop
        return Effect.andThen(wantData.wait, readLoop)
      }),
    onFailure: (error) =>
      Effect.sync(() => {
        if (error._tag === "EndOfStream") duplex.push(null)
        else duplex.destroy(new TransportError(error))
      })
  })

  // Sends queued writes in order; an empty chunk marks the end (sendEof).
  const writeLoop: Effect.Effect<void> = Effect.suspend(() => {
    const next = duplex.writes.shift()
    if (next === undefined) return Effect.andThen(writeReady.wait, writeLoop)
    if (next.chunk === undefined) {
      return Effect.andThen(Effect.ignore(inner.sendEof), Effect.sync(() => next.callback()))
    }
    return Effect.matchEffect(inner.send(next.chunk), {
      onSuccess: () => Effect.andThen(Effect.sync(() => next.callback()), writeLoop),
      onFailure: (error) => Effect.sync(() => next.callback(new TransportError(error)))
    })
  })

  const pumps = [Effect.runFork(readLoop), Effect.runFork(writeLoop)]
  duplex.pump = {
    wantRead: () => wantData.wake(),
    wantWrite: () => writeReady.wake(),
    destroy: (done) =>
      Effect.runCallback(Effect.andThen(Fiber.interruptAll(pumps), inner.close), { onExit: () => done() })
  }
  return duplex
}
