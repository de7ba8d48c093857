/**
 * @internal
 * TLS policy both editions share, as plain data (Effect-free): which OpenSSL/Node codes mean
 * which `TlsError` reason, and the one warning line a TLS listener logs for a failed handshake.
 */
import type { tlsErrorReasons } from "./netErrorText.js"
import { codeOf, formatHostPort } from "./systemError.js"

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

/**
 * @internal
 * The `TlsError` reason of a handshake failure's code, or undefined when the code is not a TLS
 * one (the failure is then the transport's: a reset, a refused write).
 */
export const tlsReasonOf = (code: string | undefined): typeof tlsErrorReasons[number] | undefined => {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return "HostnameMismatch"
  if (code !== undefined && verifyCodes.has(code)) return "CertificateVerify"
  if (code !== undefined && (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"))) return "Protocol"
  return undefined
}

type PeerAddress =
  | { readonly _tag: "InetAddress"; readonly host: string; readonly port: number }
  | { readonly _tag: "UnixAddress"; readonly path: string | Uint8Array }

const describePeer = (address: PeerAddress | undefined): string =>
  address === undefined
    ? "an unknown peer"
    : address._tag === "InetAddress"
    ? formatHostPort(address.host, address.port)
    : typeof address.path === "string"
    ? address.path || "an unnamed UNIX socket"
    : "a UNIX socket"

/** @internal A failed handshake's error, as either edition's errors carry it. */
export type HandshakeFailure =
  | { readonly _tag: "ClosedResourceError" }
  | { readonly _tag: "TlsError"; readonly reason: string; readonly code?: string | undefined; readonly cause?: unknown }
  | { readonly _tag: "BrokenResourceError"; readonly reason: string; readonly cause: unknown }

/** @internal One readable line: who, why (the reason and OpenSSL's code) and the native error's words. */
export const handshakeWarning = (error: HandshakeFailure, peer: PeerAddress | undefined): string => {
  if (error._tag === "ClosedResourceError") {
    return `effect-sockets: TLS handshake with ${describePeer(peer)} failed: the connection was closed`
  }
  const code = error._tag === "TlsError" ? error.code : codeOf(error.cause)
  const cause = error.cause instanceof Error ? error.cause.message : undefined
  return `effect-sockets: TLS handshake with ${describePeer(peer)} failed: ${error.reason}` +
    (code !== undefined ? ` (${code})` : "") + (cause !== undefined ? `: ${cause}` : "")
}
