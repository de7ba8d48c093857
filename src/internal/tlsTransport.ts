/**
 * @internal
 * TLS over any ByteStream. Node's TLS runs over a `Duplex` (Node wraps it in a JSStreamSocket),
 * so the transport can be a TCP or UNIX stream, an in-memory pair or another TLS stream, and we
 * see the transport's end of stream ourselves: Node reports a clean close_notify and a bare
 * transport EOF the same way ('end'), and telling them apart is what ragged-EOF detection needs.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Duplex } from "node:stream"
import type * as tls from "node:tls"
import type { ByteStream } from "../ByteStream.js"

/** @internal Thrown into Node when the transport fails; `cause` is our typed error. */
export class TransportError extends Error {
  readonly code: string | undefined
  constructor(override readonly cause: { readonly _tag: string; readonly message: string; readonly cause?: unknown }) {
    super(cause.message)
    const inner = cause.cause as { code?: unknown } | undefined
    this.code = typeof inner?.code === "string" ? inner.code : undefined
  }
}

const run = <A, E extends { readonly _tag: string; readonly message: string }>(
  effect: Effect.Effect<A, E>,
  onDone: (error: TransportError | null, value?: A) => void
) =>
  Effect.runCallback(effect, {
    onExit: (exit) => {
      if (Exit.isSuccess(exit)) return onDone(null, exit.value)
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      onDone(new TransportError(failure ?? { _tag: "Defect", message: "transport failed", cause: exit.cause }))
    }
  })

/**
 * @internal
 * A Duplex whose reads are the inner stream's receives and whose writes are its sends. It owns
 * the inner stream: destroying it closes the inner stream.
 */
export class TransportDuplex extends Duplex {
  /** Set once the transport reached end of stream; `cleanEnd` tells whether TLS had ended first. */
  transportEnded = false
  cleanEnd = false
  tlsSocket: tls.TLSSocket | undefined = undefined
  private receiving = false

  constructor(readonly inner: ByteStream) {
    super({ allowHalfOpen: true })
  }

  override _read(): void {
    if (this.receiving) return
    this.receiving = true
    run(this.inner.receive(), (error, chunk) => {
      this.receiving = false
      if (error === null) {
        this.push(chunk)
      } else if (error.cause._tag === "EndOfStream") {
        this.transportEnded = true
        // Node's TLS layer marks its readable side ended the moment it processes close_notify.
        this.cleanEnd = (this.tlsSocket as unknown as { _readableState?: { ended?: boolean } })?._readableState?.ended === true
        this.push(null)
      } else {
        this.destroy(error)
      }
    })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    run(this.inner.send(chunk), (error) => callback(error))
  }

  override _final(callback: (error?: Error | null) => void): void {
    run(Effect.ignore(this.inner.sendEof), () => callback())
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    run(this.inner.close, () => callback(error))
  }
}
