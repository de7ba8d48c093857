/**
 * @internal
 * The TLS handshake, the TLS stream's receive/close policy (ragged EOF, close_notify on close)
 * and its attributes.
 *
 * Node's TLS reports close_notify and a bare transport EOF alike ('end'), so standard-compatible
 * TLS (the default) runs over a Duplex that sees the transport's own end of stream: over the
 * `net.Socket` itself when the transport is one of our node:net streams (`SocketDuplex`), over
 * any other ByteStream through two pump fibers (`TransportDuplex`). Without the ragged-EOF
 * requirement, such a stream hands its socket to Node's native TLS (OpenSSL on the
 * handle, no JavaScript between the layers), as raw `node:tls` runs.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import * as url from "node:url"
import type { ByteStream, ReceiveError } from "../ByteStream.js"
import { BrokenResourceError, codeOf, reasonOf, TlsError, UnsupportedError } from "../NetError.js"
import type { TlsAttributes, TlsOptions, TlsStream } from "../Socket/Tls.js"
import { make as makeByteStream } from "./byteStream.js"
import { detachSocket, NodeStream } from "./nodeStream.js"
import { SocketDuplex, TransportDuplex, type TransportEnd, TransportError } from "./tlsTransport.js"

const verifyCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"
])

/** @internal Maps a handshake failure: transport failures stay BrokenResourceError. */
export const handshakeFailure = (cause: unknown): TlsError | BrokenResourceError => {
  if (cause instanceof TransportError && cause.cause._tag === "BrokenResourceError") {
    return cause.cause as BrokenResourceError
  }
  const code = codeOf(cause)
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return new TlsError({ reason: "HostnameMismatch", code, cause })
  if (code !== undefined && verifyCodes.has(code)) return new TlsError({ reason: "CertificateVerify", code, cause })
  if (code !== undefined && (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"))) {
    return new TlsError({ reason: "Protocol", code, cause })
  }
  return new BrokenResourceError({
    reason: code === undefined ? "ConnectionReset" : reasonOf(cause),
    operation: "TLS handshake",
    cause
  })
}

const contextOptions = (options: TlsOptions): tls.SecureContextOptions => ({
  ...(options.ca !== undefined ? { ca: options.ca as tls.SecureContextOptions["ca"] } : {}),
  ...(options.cert !== undefined ? { cert: options.cert as tls.SecureContextOptions["cert"] } : {}),
  ...(options.key !== undefined ? { key: options.key as tls.SecureContextOptions["key"] } : {}),
  ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
  ...(options.minVersion !== undefined ? { minVersion: options.minVersion } : {}),
  ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {})
})

const startTls = (transport: Duplex, options: TlsOptions): tls.TLSSocket => {
  const secureContext = options.secureContext ?? tls.createSecureContext(contextOptions(options))
  const alpn = options.alpnProtocols ? { ALPNProtocols: [...options.alpnProtocols] } : {}
  if (options.serverSide) {
    return new tls.TLSSocket(transport, {
      isServer: true,
      secureContext,
      requestCert: options.requestCert ?? false,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      ...alpn
    })
  }
  // IDNA 2008 (UTS 46 non-transitional), as AnyIO's TLS layer does: "faß.de" is verified and
  // sent as "xn--fa-hia.de". Node's own identity check rejects U-labels.
  const hostname = net.isIP(options.hostname ?? "") !== 0
    ? options.hostname!
    : url.domainToASCII(options.hostname ?? "localhost") || (options.hostname ?? "localhost")
  return tls.connect({
    socket: transport,
    secureContext,
    // SNI carries names only; an IP address is still verified against the certificate's IP SANs.
    ...(net.isIP(hostname) === 0 ? { servername: hostname } : {}),
    host: hostname,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    ...alpn
  })
}

/** @internal The handshake; interrupting it (or a timeout) closes the TLS socket and the transport. */
export const handshake = (
  inner: ByteStream,
  options: TlsOptions
): Effect.Effect<TlsStream, TlsError | BrokenResourceError> => {
  const timeout = options.handshakeTimeout === undefined ? undefined : Duration.decode(options.handshakeTimeout)
  const run = Effect.async<TlsStream, TlsError | BrokenResourceError>((resume) => {
    const owned = detachSocket(inner)
    const standardCompatible = options.standardCompatible ?? true
    // Native TLS on the socket, or a Duplex that sees the transport's own end of stream.
    const duplex: TransportEnd | undefined = owned === undefined
      ? new TransportDuplex(inner)
      : standardCompatible
      ? new SocketDuplex(owned)
      : undefined
    const transport: Duplex = duplex ?? owned!
    let socket: tls.TLSSocket
    try {
      socket = startTls(transport, options)
    } catch (cause) {
      transport.destroy()
      return resume(Effect.fail(new TlsError({ reason: "Protocol", code: codeOf(cause), cause })))
    }
    if (duplex) duplex.tlsSocket = socket
    const onError = (cause: Error) => {
      socket.destroy()
      resume(Effect.fail(handshakeFailure(cause)))
    }
    // A peer that hangs up mid-handshake ends the transport without any 'error' from Node's TLS
    // socket: over a Duplex we see the transport's 'end' (the TLS socket, paused, would not even
    // emit one); on the native route the TLS socket's own 'end' is that signal.
    const onClose = () => onError(new Error("the peer closed the connection during the TLS handshake"))
    socket.once("error", onError)
    socket.once("close", onClose)
    const transportEnd: Duplex = duplex ?? socket
    transportEnd.once("end", onClose)
    socket.once(options.serverSide ? "secure" : "secureConnect", () => {
      socket.off("error", onError)
      socket.off("close", onClose)
      transportEnd.off("end", onClose)
      resume(Effect.succeed(makeTlsStream(socket, duplex, inner, options)))
    })
    return Effect.sync(() => socket.destroy())
  })
  if (timeout === undefined) return run
  return Effect.timeoutFail(run, {
    duration: timeout,
    onTimeout: () => new TlsError({ reason: "HandshakeTimeout", code: undefined })
  })
}

const attributesOf = (socket: tls.TLSSocket, inner: ByteStream, options: TlsOptions): TlsAttributes => {
  const peer = socket.getPeerCertificate()
  const cipher = socket.getCipher()
  return {
    ...inner.attributes,
    serverSide: options.serverSide ?? false,
    standardCompatible: options.standardCompatible ?? true,
    alpnProtocol: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
    tlsVersion: socket.getProtocol(),
    cipher: cipher ? { name: cipher.name, standardName: cipher.standardName, version: cipher.version } : null,
    peerCertificate: peer && Object.keys(peer).length > 0
      ? {
        subject: { ...peer.subject },
        issuer: { ...peer.issuer },
        subjectAltName: peer.subjectaltname ?? null,
        validFrom: peer.valid_from,
        validTo: peer.valid_to,
        fingerprint256: peer.fingerprint256
      }
      : null
  }
}

/** How long `close` waits for close_notify to be handed to the transport. */
const CLOSE_NOTIFY_GRACE = Duration.seconds(1)

const makeTlsStream = (
  socket: tls.TLSSocket,
  duplex: TransportEnd | undefined,
  inner: ByteStream,
  options: TlsOptions
): TlsStream => {
  const core = new NodeStream(socket)
  const standardCompatible = options.standardCompatible ?? true
  const ragged = new BrokenResourceError({
    reason: "UnexpectedEof",
    operation: "receive",
    cause: new Error("the peer closed the transport without a TLS close_notify (possible truncation)")
  })
  const receive = (maxBytes?: number): Effect.Effect<Uint8Array, ReceiveError> =>
    Effect.catchTag(
      core.receive(maxBytes),
      "EndOfStream",
      (eof) => Effect.fail(standardCompatible && duplex?.transportEnded === true && !duplex.cleanEnd ? ragged : eof)
    )
  // Standard-compatible close sends close_notify first (briefly waiting for it to leave).
  const sendCloseNotify = Effect.async<void>((resume) => {
    if (!socket.writable || socket.destroyed) return resume(Effect.void)
    const done = () => resume(Effect.void)
    socket.once("finish", done)
    socket.once("close", done)
    socket.once("error", done)
    socket.end()
  }).pipe(
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
    send: core.send,
    sendEof: Effect.fail(
      new UnsupportedError({
        operation: "sendEof",
        why: "TLS cannot half-close a stream (close_notify ends both directions in TLS 1.2)"
      })
    ),
    close,
    attributes: attributesOf(socket, inner, options)
  })
}
