/**
 * TLS streams: `wrapTls` upgrades any connected byte stream (STARTTLS, client or server side);
 * `connectTcp(…, { tls })` and TLS listeners use the same machinery.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as tls from "node:tls"
import type { Attributes, ByteStream } from "../ByteStream.js"
import * as internal from "../internal/tls.js"
import type { BrokenResourceError, ClosedResourceError, InvalidArgumentError, TlsError } from "../NetError.js"

/**
 * TLS settings. Certificates are verified by default.
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsOptions {
  /** Run the server side of the handshake (default: client). */
  readonly serverSide?: boolean
  /**
   * Client: the name to verify the certificate against and to send as SNI (an IP address is verified against IP
   * SANs).
   */
  readonly hostname?: string
  /** Trusted CA certificates (PEM); default: the system's. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>
  /** Our certificate chain (PEM): required on the server side, optional client certificate. */
  readonly cert?: string | Buffer | ReadonlyArray<string | Buffer>
  /** Our private key (PEM). */
  readonly key?: string | Buffer | ReadonlyArray<string | Buffer>
  readonly passphrase?: string
  /** ALPN protocols offered, in preference order. */
  readonly alpnProtocols?: ReadonlyArray<string>
  readonly minVersion?: tls.SecureVersion
  readonly maxVersion?: tls.SecureVersion
  /**
   * Client: fail the handshake when the server's certificate cannot be verified (default true —
   * turning it off is for tests only). Server: with `requestCert`, require a valid client certificate.
   */
  readonly rejectUnauthorized?: boolean
  /** Server: ask the client for a certificate. */
  readonly requestCert?: boolean
  /** A prebuilt context; replaces `ca`, `cert`, `key`, `passphrase`, `minVersion`, `maxVersion`. */
  readonly secureContext?: tls.SecureContext
  /**
   * `true` (default): a peer that closes without close_notify is a `BrokenResourceError` (reason
   * `"UnexpectedEof"`), and `close` sends close_notify. `false`: such a close is a plain
   * `EndOfStream` (for HTTP-style protocols that delimit their own messages), and `close`
   * skips close_notify. Over a TCP stream (or a node:net UNIX stream), `false` also lets Node
   * run TLS natively on the socket (the wrapped stream is then Closed to direct use): about
   * 1.4× the default route's rate, which must see the transport's own EOF to detect truncation.
   */
  readonly standardCompatible?: boolean
  /** Fail with `TlsError` (reason `"HandshakeTimeout"`) if the handshake takes longer. */
  readonly handshakeTimeout?: Duration.Input
}

/**
 * What a TLS stream knows: its transport's attributes plus the session's.
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsAttributes extends Attributes {
  readonly serverSide: boolean
  readonly standardCompatible: boolean
  /** The negotiated ALPN protocol, or null. */
  readonly alpnProtocol: string | null
  /** `"TLSv1.3"`, `"TLSv1.2"`, … */
  readonly tlsVersion: string | null
  readonly cipher: { readonly name: string; readonly standardName: string; readonly version: string } | null
  /** The peer's certificate, or null when it sent none. */
  readonly peerCertificate: {
    readonly subject: Readonly<Record<string, unknown>>
    readonly issuer: Readonly<Record<string, unknown>>
    readonly subjectAltName: string | null
    readonly validFrom: string
    readonly validTo: string
    readonly fingerprint256: string
  } | null
}

/**
 * A TLS stream. `sendEof` fails with `UnsupportedError`: TLS 1.2 cannot half-close.
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsStream extends ByteStream {
  readonly attributes: TlsAttributes
}

/**
 * Runs a TLS handshake over a connected stream (STARTTLS), client side by default or server
 * side with `serverSide: true`, and returns the TLS stream. The TLS stream owns `stream`:
 * closing it closes `stream`. A failed handshake fails with `TlsError` (verification, host
 * name, protocol, timeout) or `BrokenResourceError` (the transport failed) and closes `stream`.
 * The TLS stream is closed when the scope closes.
 *
 * Fails with `ClosedResourceError` (leaving `stream` alone) when `stream` already belongs to a
 * TLS session (`wrapTls` twice) or this side closed or half-closed it, and with
 * `InvalidArgumentError` before any I/O for an empty `hostname` (no silent fallback).
 *
 * @since 0.2.0
 * @category constructors
 */
export const wrapTls = (
  stream: ByteStream,
  options: TlsOptions = {}
): Effect.Effect<TlsStream, TlsError | BrokenResourceError | ClosedResourceError | InvalidArgumentError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend((): Effect.Effect<
      TlsStream,
      TlsError | BrokenResourceError | ClosedResourceError | InvalidArgumentError
    > => {
      const invalid = internal.invalidTlsOptions(options)
      if (invalid) return Effect.fail(invalid)
      const taken = internal.claim(stream)
      if (taken) return Effect.fail(taken)
      return Effect.interruptible(internal.handshake(stream, options)).pipe(Effect.tapError(() => stream.close))
    }),
    (tlsStream) => tlsStream.close
  )
