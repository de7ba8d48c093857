/**
 * @internal
 * TLS over any ByteStream. Node's TLS runs over a `Duplex` (Node wraps it in a JSStreamSocket),
 * so the transport can be a TCP or UNIX stream, an in-memory pair or another TLS stream, and we
 * see the transport's end of stream ourselves: Node reports a clean close_notify and a bare
 * transport EOF the same way ('end'), and telling them apart is what ragged-EOF detection needs.
 *
 * Two long-lived fibers pump the transport (one receiving, one sending), so a chunk costs a
 * fiber wake-up, not a new fiber.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as net from "node:net"
import { Duplex } from "node:stream"
import type * as tls from "node:tls"
import type { ByteStream } from "../ByteStream.js"
import { Signal } from "./signal.js"

/** @internal Thrown into Node when the transport fails; `cause` is our typed error. */
export class TransportError extends Error {
  readonly code: string | undefined
  constructor(override readonly cause: { readonly _tag: string; readonly message: string; readonly cause?: unknown }) {
    super(cause.message)
    const inner = cause.cause as { code?: unknown } | undefined
    this.code = typeof inner?.code === "string" ? inner.code : undefined
  }
}

type Write = { readonly chunk: Buffer | undefined; readonly callback: (error?: Error | null) => void }

/** Node's TLS layer marks its readable side ended the moment it processes close_notify. */
const tlsHasEnded = (socket: tls.TLSSocket | undefined): boolean =>
  (socket as unknown as { _readableState?: { ended?: boolean } } | undefined)?._readableState?.ended === true

/**
 * @internal
 * A transport Duplex that records how its stream ended: whether the transport ended, and
 * whether TLS had ended first (a close_notify) or not (a ragged EOF). It is decided at this
 * Duplex's own 'end', when every byte before the EOF has been handed to TLS (a slow reader
 * leaves bytes buffered here, close_notify among them, after the socket itself has ended), and
 * before Node's JSStreamSocket, listening after us, passes the EOF on to TLS.
 */
export abstract class TransportEnd extends Duplex {
  transportEnded = false
  cleanEnd = false
  tlsSocket: tls.TLSSocket | undefined = undefined

  constructor() {
    super({ allowHalfOpen: true })
    this.once("end", () => {
      this.transportEnded = true
      this.cleanEnd = tlsHasEnded(this.tlsSocket)
    })
  }
}

/**
 * @internal
 * A Duplex straight over a `net.Socket` we own (a node:net TCP or UNIX stream handed over by `detach`):
 * no fibers between the TLS layer and the socket, and the socket's own 'end' tells a ragged EOF
 * from close_notify.
 */
export class SocketDuplex extends TransportEnd {
  constructor(readonly socket: net.Socket) {
    super()
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause()
    })
    socket.on("end", () => this.push(null))
    socket.on("error", (error) => this.destroy(error))
    socket.on("close", () => this.destroy())
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy()
    callback(error)
  }
}

/**
 * @internal
 * A Duplex whose reads are the inner stream's receives and whose writes are its sends. It owns
 * the inner stream: destroying it closes the inner stream.
 */
export class TransportDuplex extends TransportEnd {
  /** Node asked for data (`_read`) since a push last returned false. */
  private readRequested = false
  private readonly wantData = new Signal(() => this.readRequested)
  private readonly writes: Array<Write> = []
  private readonly writeReady = new Signal(() => this.writes.length > 0)
  private readonly pumps: Array<Fiber.RuntimeFiber<void>>

  constructor(readonly inner: ByteStream) {
    super()
    this.pumps = [Effect.runFork(this.readLoop), Effect.runFork(this.writeLoop)]
  }

  /** Receives and pushes; waits for `_read` when Node's buffer is full. */
  private readonly readLoop: Effect.Effect<void> = Effect.matchEffect(Effect.suspend(() => this.inner.receive()), {
    onSuccess: (chunk) =>
      Effect.suspend(() => {
        this.readRequested = false
        if (this.push(chunk)) return this.readLoop
        return Effect.zipRight(this.wantData.wait, this.readLoop)
      }),
    onFailure: (error) =>
      Effect.sync(() => {
        if (error._tag === "EndOfStream") this.push(null)
        else {
          this.destroy(new TransportError(error))
        }
      })
  })

  /** Sends queued writes in order; an empty chunk marks the end (sendEof). */
  private readonly writeLoop: Effect.Effect<void> = Effect.suspend(() => {
    const next = this.writes.shift()
    if (next === undefined) return Effect.zipRight(this.writeReady.wait, this.writeLoop)
    if (next.chunk === undefined) {
      return Effect.zipRight(Effect.ignore(this.inner.sendEof), Effect.sync(() => next.callback()))
    }
    return Effect.matchEffect(this.inner.send(next.chunk), {
      onSuccess: () => Effect.zipRight(Effect.sync(() => next.callback()), this.writeLoop),
      onFailure: (error) => Effect.sync(() => next.callback(new TransportError(error)))
    })
  })

  override _read(): void {
    this.readRequested = true
    this.wantData.wake()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes.push({ chunk, callback })
    this.writeReady.wake()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.writes.push({ chunk: undefined, callback })
    this.writeReady.wake()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const pumps = this.pumps
    Effect.runCallback(
      Effect.zipRight(Fiber.interruptAll(pumps), this.inner.close),
      { onExit: () => callback(error) }
    )
  }
}
