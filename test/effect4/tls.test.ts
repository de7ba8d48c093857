/**
 * The Effect 4 edition's TLS on loopback, with throwaway certificates (test/helpers/certs.ts,
 * openssl): `connectTcp` with `tls` against a raw `node:tls` server, a TLS listener (`tls`
 * option) serving our own client, verification failures as `TlsError`, and STARTTLS with
 * `wrapTls` over a plain stream.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as tls from "node:tls"
import { Listener, NetError, Socket } from "../../src/effect4/index.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../helpers/certs.js"

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

/** A raw node:tls echo server (uppercases what it gets), closed with the scope. */
const rawTlsServer = Effect.acquireRelease(
  Effect.callback<tls.Server>((resume) => {
    const server = tls.createServer({ cert: certs.server.cert, key: certs.server.key }, (socket) => {
      socket.on("error", () => {})
      socket.on("data", (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()))
      socket.on("end", () => socket.end())
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
).pipe(Effect.map((server) => (server.address() as { port: number }).port))

describe("TLS (Effect 4)", () => {
  it.effect("connectTcp with tls verifies the server and exchanges data; attributes describe the session", () =>
    Effect.gen(function*() {
      const port = yield* rawTlsServer
      const client = yield* Socket.connectTcp("localhost", port, { tls: { ca: certs.ca.cert } })
      expect(client.attributes.tlsVersion).toMatch(/^TLSv1\.[23]$/)
      expect(client.attributes.peerCertificate?.subjectAltName).toContain("localhost")
      yield* client.send("secret")
      expect(text(yield* client.receive())).toBe("SECRET")
      const halfClose = yield* Effect.flip(client.sendEof)
      expect(halfClose._tag).toBe("UnsupportedError")
    }))

  it.effect("an untrusted certificate is a TlsError CertificateVerify; a wrong name is HostnameMismatch", () =>
    Effect.gen(function*() {
      const port = yield* rawTlsServer
      const untrusted = yield* Effect.flip(Socket.connectTcp("localhost", port, { tls: true }))
      expect(untrusted).toBeInstanceOf(NetError.TlsError)
      expect(untrusted).toMatchObject({ reason: "CertificateVerify" })
      const mismatch = yield* Effect.flip(
        Socket.connectTcp("127.0.0.1", port, { tls: { ca: certs.ca.cert, hostname: "example.com" } })
      )
      expect(mismatch).toMatchObject({ _tag: "TlsError", reason: "HostnameMismatch" })
    }))

  it.effect("a TLS listener serves our client; a client that fails the handshake does not stop serve", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({
        localHost: "127.0.0.1",
        tls: { cert: certs.server.cert, key: certs.server.key }
      })
      const port = listener.addresses[0]!.port
      yield* Effect.forkChild(
        listener.serve((stream) => Effect.flatMap(stream.receive(), (bytes) => stream.send(`tls:${text(bytes)}`)))
      )
      // A plain-text client: its handshake fails on the server and is logged.
      const plain = yield* Socket.connectTcp("127.0.0.1", port)
      yield* plain.send("not a client hello\r\n\r\n")
      for (let i = 0; i < 2; i++) {
        const client = yield* Socket.connectTcp("127.0.0.1", port, { tls: { ca: certs.ca.cert } })
        yield* client.send(`${i}`)
        expect(text(yield* client.receive())).toBe(`tls:${i}`)
      }
    }))

  it.effect("wrapTls upgrades a plain stream after a plaintext exchange (STARTTLS), both sides ours", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const port = listener.addresses[0]!.port
      const server = yield* Effect.forkChild(Effect.gen(function*() {
        const plain = yield* listener.accept
        expect(text(yield* plain.receive())).toBe("STARTTLS")
        yield* plain.send("GO")
        const secure = yield* Socket.wrapTls(plain, {
          serverSide: true,
          cert: certs.server.cert,
          key: certs.server.key
        })
        yield* secure.send(`hello ${text(yield* secure.receive())}`)
        yield* secure.close
      }))
      const plain = yield* Socket.connectTcp("127.0.0.1", port)
      yield* plain.send("STARTTLS")
      expect(text(yield* plain.receive())).toBe("GO")
      const secure = yield* Socket.wrapTls(plain, { hostname: "localhost", ca: certs.ca.cert })
      yield* secure.send("tls")
      expect(text(yield* secure.receive())).toBe("hello tls")
      // close_notify arrived: a clean EndOfStream, not a truncation.
      expect((yield* Effect.flip(secure.receive()))._tag).toBe("EndOfStream")
      yield* Fiber.join(server)
      const again = yield* Effect.flip(Socket.wrapTls(plain, { hostname: "localhost" }))
      expect(again._tag).toBe("ClosedResourceError")
    }))
})
