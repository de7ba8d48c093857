/**
 * @internal
 * Effect layer of TLS: the handshake as an effect (route, timeout, typed failures) and the TLS
 * stream's receive/close policy (ragged EOF, close_notify on close).
 *
 * Node's TLS reports close_notify and a bare transport EOF alike ('end'), so standard-compatible
 * TLS (the default) runs over a Duplex that sees the transport's own end of stream: over the
 * `net.Socket` itself when the transport is one of our node:net streams (`SocketDuplex`), over
 * any other ByteStream through two pump fibers (`pumpedDuplex`). Without the ragged-EOF
 * requirement, such a stream hands its socket to Node's native TLS (OpenSSL on the
 * handle, no JavaScript between the layers), as raw `node:tls` runs.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { Duplex } from "node:stream"
import type * as tls from "node:tls"
import type { ByteStream, ReceiveError } from "../ByteStream.js"
import {
  BrokenResourceError,
  ClosedResourceError,
  type EndOfStream,
  InvalidArgumentError,
  TlsError,
  UnsupportedError
} from "../NetError.js"
import type { TlsOptions, TlsStream } from "../Socket/Tls.js"
import { make as makeByteStream } from "./byteStream.js"
import * as driver from "./driver/tls.js"
import { SocketDuplex, type TransportEnd, TransportError } from "./driver/tlsTransport.js"
import { detachSocket, NetStream } from "./netStream.js"
import { codeOf, reasonOf } from "./systemError.js"
import * as telemetry from "./telemetry.js"
import { Traffic } from "./telemetry.js"
import { pumpedDuplex } from "./tlsPump.js"
import { tlsReasonOf } from "./tlsRules.js"
import { durationOrError, invalidHost, invalidOptions } from "./validate.js"

/**
 * @internal
 * Maps a handshake failure: the transport's own failures stay what they were (Broken, or
 * Closed when this side had closed or half-closed it).
 */
export const handshakeFailure = (cause: unknown): TlsError | BrokenResourceError | ClosedResourceError => {
  if (cause instanceof TransportError && cause.cause._tag === "BrokenResourceError") {
    return cause.cause as BrokenResourceError
  }
  if (cause instanceof TransportError && cause.cause._tag === "ClosedResourceError") {
    return new ClosedResourceError({ operation: "start TLS on it" })
  }
  const code = codeOf(cause)
  const reason = tlsReasonOf(code)
  if (reason !== undefined) return new TlsError({ reason, code, cause })
  return new BrokenResourceError({
    reason: code === undefined ? "ConnectionReset" : reasonOf(cause),
    operation: "TLS handshake",
    cause
  })
}

/**
 * @internal
 * TLS options that cannot work, before any I/O: not an object, an empty host name (it would be
 * verified as "localhost"), a handshake timeout that is not a duration.
 */
export const invalidTlsOptions = (options: unknown, argument?: string): InvalidArgumentError | undefined => {
  const field = (name: string) => (argument === undefined ? name : `${argument}.${name}`)
  const notObject = invalidOptions(options, argument ?? "options")
  if (notObject || options === undefined) return notObject
  const { handshakeTimeout, hostname } = options as TlsOptions
  if (hostname !== undefined) {
    const badHost = invalidHost(hostname, field("hostname"))
    if (badHost) return badHost
  }
  const timeout = durationOrError(handshakeTimeout, field("handshakeTimeout"))
  return timeout instanceof InvalidArgumentError ? timeout : undefined
}

/** Every stream a TLS session was started on: it belongs to that session for good. */
const claimed = new WeakSet<ByteStream>()

/**
 * @internal
 * Takes `inner` for one TLS session, or gives the error if another session already took it
 * (two sessions on one transport would interleave their records: an EPIPE, a garbled peer).
 */
export const claim = (inner: ByteStream): ClosedResourceError | undefined => {
  if (claimed.has(inner)) return new ClosedResourceError({ operation: "start TLS on it (a TLS session owns it)" })
  claimed.add(inner)
  telemetry.stopCounting(inner)
  return undefined
}

/**
 * @internal
 * The handshake over a stream `claim` gave us; interrupting it (or a timeout) closes the TLS
 * socket and the transport. A stream this side closed or half-closed fails with
 * ClosedResourceError.
 */
export const handshake = (
  inner: ByteStream,
  options: TlsOptions
): Effect.Effect<TlsStream, TlsError | BrokenResourceError | ClosedResourceError> => {
  const timeout = options.handshakeTimeout === undefined ? undefined : Duration.decode(options.handshakeTimeout)
  const run = Effect.async<TlsStream, TlsError | BrokenResourceError | ClosedResourceError>((resume) => {
    const owned = detachSocket(inner)
    const standardCompatible = options.standardCompatible ?? true
    // Native TLS on the socket, or a Duplex that sees the transport's own end of stream.
    const duplex: TransportEnd | undefined = owned === undefined
      ? pumpedDuplex(inner)
      : standardCompatible
      ? new SocketDuplex(owned)
      : undefined
    const transport: Duplex = duplex ?? owned!
    let socket: tls.TLSSocket
    try {
      socket = driver.start(transport, options)
    } catch (cause) {
      transport.destroy()
      return resume(Effect.fail(new TlsError({ reason: "Protocol", code: codeOf(cause), cause })))
    }
    if (duplex) duplex.tlsSocket = socket
    driver.onHandshake(socket, duplex ?? socket, options.serverSide ?? false, (cause) => {
      resume(
        cause ? Effect.fail(handshakeFailure(cause)) : Effect.succeed(makeTlsStream(socket, duplex, inner, options))
      )
    })
    return Effect.sync(() => socket.destroy())
  })
  const timed = timeout === undefined ? run : Effect.timeoutFail(run, {
    duration: timeout,
    onTimeout: () => new TlsError({ reason: "HandshakeTimeout", code: undefined })
  })
  return observeHandshake(timed, inner, options.serverSide ?? false)
}

/** `Socket.wrapTls`: one span per handshake (either side) and its duration in the histogram. */
const observeHandshake = <E>(
  self: Effect.Effect<TlsStream, E>,
  inner: ByteStream,
  serverSide: boolean
): Effect.Effect<TlsStream, E> =>
  Effect.suspend(() => {
    const started = performance.now()
    return self.pipe(
      Effect.tap((stream) => Effect.annotateCurrentSpan(telemetry.tlsAttributes(stream.attributes))),
      telemetry.annotateFailure,
      Effect.ensuring(
        Effect.suspend(() => Metric.update(telemetry.tlsHandshakeDuration, (performance.now() - started) / 1000))
      ),
      Effect.withSpan("Socket.wrapTls", {
        kind: serverSide ? "server" : "client",
        attributes: telemetry.addressAttributes(inner.attributes, serverSide)
      }),
      Effect.mapError(telemetry.original)
    )
  })

/** How long `close` waits for close_notify to be handed to the transport. */
const CLOSE_NOTIFY_GRACE = Duration.seconds(1)

const makeTlsStream = (
  socket: tls.TLSSocket,
  duplex: TransportEnd | undefined,
  inner: ByteStream,
  options: TlsOptions
): TlsStream => {
  // The session's plaintext, under its transport's tag; the connection was counted by `inner`.
  const core = new NetStream(socket, new Traffic(inner.attributes.family === "unix" ? "unix" : "tcp", undefined))
  const standardCompatible = options.standardCompatible ?? true
  const ragged = new BrokenResourceError({
    reason: "UnexpectedEof",
    operation: "receive",
    cause: new Error("the peer closed the transport without a TLS close_notify (possible truncation)")
  })
  // A ragged EOF (the transport ended without close_notify) is a failure, not an end.
  const endOf = (eof: EndOfStream) =>
    Effect.fail(standardCompatible && duplex?.transportEnded === true && !duplex.cleanEnd ? ragged : eof)
  const receive = (maxBytes?: number): Effect.Effect<Uint8Array, ReceiveError> =>
    Effect.catchTag(core.receive(maxBytes), "EndOfStream", endOf)
  const receiveBatch = Effect.catchTag(core.receiveBatch, "EndOfStream", endOf)
  // Standard-compatible close sends close_notify first (briefly waiting for it to leave).
  const sendCloseNotify = Effect.async<void>((resume) => driver.sendCloseNotify(socket, () => resume(Effect.void)))
    .pipe(
      // `close` usually runs as a finalizer, which is uninterruptible: the wait must be made
      // interruptible for the grace period to cut it (a peer that reads nothing never drains it).
      Effect.interruptible,
      Effect.timeoutOption(CLOSE_NOTIFY_GRACE)
    )
  const close = Effect.zipRight(standardCompatible ? Effect.asVoid(sendCloseNotify) : Effect.void, core.close).pipe(
    Effect.zipRight(inner.close)
  )
  return makeByteStream({
    receive,
    receiveBatch: () => receiveBatch,
    send: core.send,
    sendAll: core.sendAll,
    sendEof: Effect.fail(
      new UnsupportedError({
        operation: "sendEof",
        why: "TLS cannot half-close a stream (close_notify ends both directions in TLS 1.2)"
      })
    ),
    close,
    attributes: driver.attributes(socket, inner.attributes, options)
  })
}
