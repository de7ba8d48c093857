/**
 * @internal
 * Driver: the Duplexes Node's TLS runs over when we must see the transport's own end of stream
 * (Node reports a clean close_notify and a bare transport EOF the same way, 'end', and telling
 * them apart is what ragged-EOF detection needs). Effect-free.
 */
import type * as net from "node:net"
import { Duplex } from "node:stream"
import type * as tls from "node:tls"

/** @internal Thrown into Node when the transport fails; `cause` is the transport's typed error. */
export class TransportError extends Error {
  readonly code: string | undefined
  constructor(override readonly cause: { readonly _tag: string; readonly message: string; readonly cause?: unknown }) {
    super(cause.message)
    const inner = cause.cause as { code?: unknown } | undefined
    this.code = typeof inner?.code === "string" ? inner.code : undefined
  }
}

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
 * A Duplex straight over a `net.Socket` we own (a node:net TCP or UNIX stream handed over by
 * `detach`): nothing between the TLS layer and the socket, and the socket's own 'end' tells a
 * ragged EOF from close_notify.
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

  /** What TLS wrote while a write was in flight (several records) goes out corked: one writev. */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    this.socket.cork()
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!.chunk)
    this.socket.write(chunks[chunks.length - 1]!.chunk, callback)
    this.socket.uncork()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy()
    callback(error)
  }
}

/** @internal A write Node asked for; `chunk` undefined marks the end (`_final`). */
export interface TransportWrite {
  readonly chunk: Buffer | undefined
  readonly callback: (error?: Error | null) => void
}

/** @internal What a `TransportDuplex` asks of whoever moves its bytes. */
export interface TransportPump {
  /** Node wants data (`readRequested` is set): push some when there is. */
  readonly wantRead: () => void
  /** `writes` has something to send. */
  readonly wantWrite: () => void
  /** Stop and release the transport, then call `done`. */
  readonly destroy: (done: () => void) => void
}

/**
 * @internal
 * A Duplex over any byte stream: its reads and writes are carried by a pump that the owner
 * provides (receiving into `push`, sending `writes` in order).
 */
export class TransportDuplex extends TransportEnd {
  /** Node asked for data (`_read`) since a push last returned false. */
  readRequested = false
  readonly writes: Array<TransportWrite> = []
  pump: TransportPump | undefined = undefined

  override _read(): void {
    this.readRequested = true
    this.pump?.wantRead()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes.push({ chunk, callback })
    this.pump?.wantWrite()
  }

  /**
   * Several buffered writes at once, queued as one entry each (a pump may send them one by one
   * or as a batch); Node hears once: at the first failure, or when the last one is done.
   */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    let left = chunks.length
    let answered = false
    const each = (error?: Error | null) => {
      if (answered) return
      if (error || --left === 0) {
        answered = true
        callback(error)
      }
    }
    for (const { chunk } of chunks) this.writes.push({ chunk, callback: each })
    this.pump?.wantWrite()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.writes.push({ chunk: undefined, callback })
    this.pump?.wantWrite()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.pump) this.pump.destroy(() => callback(error))
    else callback(error)
  }
}
