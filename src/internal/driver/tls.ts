/**
 * @internal
 * Driver: Node's TLS (OpenSSL) over a transport Duplex or a `net.Socket`: starting a session,
 * watching its handshake, sending close_notify, reading its attributes. Effect-free.
 */
import * as net from "node:net"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import * as url from "node:url"
import type { TlsAttributes, TlsOptions } from "../../Socket/Tls.js"

const contextOptions = (options: TlsOptions): tls.SecureContextOptions => ({
  ...(options.ca !== undefined ? { ca: options.ca as tls.SecureContextOptions["ca"] } : {}),
  ...(options.cert !== undefined ? { cert: options.cert as tls.SecureContextOptions["cert"] } : {}),
  ...(options.key !== undefined ? { key: options.key as tls.SecureContextOptions["key"] } : {}),
  ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
  ...(options.minVersion !== undefined ? { minVersion: options.minVersion } : {}),
  ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {})
})

/**
 * @internal
 * The SecureContext of `options` (its own, or one made from the certificate, key and CA).
 * Throws when they cannot be used (a malformed PEM, a key that does not match the certificate).
 * A server that makes one and uses it for every connection lets clients resume their sessions:
 * the context holds the session ticket keys.
 */
export const createContext = (options: TlsOptions): tls.SecureContext =>
  options.secureContext ?? tls.createSecureContext(contextOptions(options))

/** @internal Starts a TLS session (client or server side) over `transport`. Throws on bad options. */
export const start = (transport: Duplex, options: TlsOptions): tls.TLSSocket => {
  const secureContext = createContext(options)
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

/**
 * @internal
 * Watches the handshake: `callback` gets null once it is done, or the error. A peer that hangs
 * up mid-handshake ends the transport without any 'error' from Node's TLS socket: `transportEnd`
 * (the Duplex under it, or the TLS socket itself on the native route) reports that 'end'.
 */
export const onHandshake = (
  socket: tls.TLSSocket,
  transportEnd: Duplex,
  serverSide: boolean,
  callback: (error: Error | null) => void
): void => {
  const onError = (cause: Error) => {
    socket.destroy()
    callback(cause)
  }
  const onClose = () => onError(new Error("the peer closed the connection during the TLS handshake"))
  socket.once("error", onError)
  socket.once("close", onClose)
  transportEnd.once("end", onClose)
  socket.once(serverSide ? "secure" : "secureConnect", () => {
    socket.off("error", onError)
    socket.off("close", onClose)
    transportEnd.off("end", onClose)
    callback(null)
  })
}

/** @internal Sends close_notify (ends the TLS socket); `callback` once it has left or the socket is gone. */
export const sendCloseNotify = (socket: tls.TLSSocket, callback: () => void): void => {
  if (!socket.writable || socket.destroyed) return callback()
  socket.once("finish", callback)
  socket.once("close", callback)
  socket.once("error", callback)
  socket.end()
}

/** @internal What the handshake established, on top of the transport's own attributes. */
export const attributes = (
  socket: tls.TLSSocket,
  transportAttributes: object,
  options: TlsOptions
): TlsAttributes => {
  const peer = socket.getPeerCertificate()
  const cipher = socket.getCipher()
  return {
    ...(transportAttributes as TlsAttributes),
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
