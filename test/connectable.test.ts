/**
 * Connectables (`Socket.tcpConnectable`, `Socket.unixConnectable`, AnyIO 4.10's
 * TCPConnectable/UNIXConnectable): each `connect` opens a new connection, TLS when asked,
 * with the same typed errors as `connectTcp`/`connectUnix`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Listener, Socket } from "../src/index.js"
import { useTestCerts } from "./helpers/certs.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-conn-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const portOf = (listener: Listener.Listener): number => {
  const address = listener.addresses[0]!
  return address._tag === "InetAddress" ? address.port : 0
}

/** Serves each connection: sends its ordinal, then echoes one chunk. */
const countingServer = (listener: Listener.Listener) => {
  let n = 0
  return listener.serve((client) =>
    Effect.gen(function*() {
      yield* client.send(`#${++n}:`)
      yield* client.send(yield* client.receive())
    })
  )
}

const roundTrip = (connectable: Socket.Connectable, message: string) =>
  Effect.scoped(Effect.gen(function*() {
    const stream = yield* connectable.connect
    yield* stream.send(message)
    let got = ""
    while (!got.endsWith(message)) got += text(yield* stream.receive())
    return got
  }))

describe("Socket.tcpConnectable", () => {
  it.scoped("connects anew on every connect", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* Effect.forkScoped(countingServer(listener))
      const connectable = Socket.tcpConnectable(HOST, portOf(listener))
      expect(Socket.isConnectable(connectable)).toBe(true)
      expect(yield* roundTrip(connectable, "a")).toBe("#1:a")
      expect(yield* roundTrip(connectable, "b")).toBe("#2:b")
    }))

  it.scoped("uses TLS when options.tls is given", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({
        localHost: HOST,
        tls: { cert: certs().server.cert, key: certs().server.key }
      })
      yield* Effect.forkScoped(countingServer(listener))
      const connectable = Socket.tcpConnectable(HOST, portOf(listener), { tls: { ca: certs().ca.cert } })
      const version = yield* Effect.scoped(Effect.map(connectable.connect, (s) => s.attributes.tlsVersion))
      expect(version).toMatch(/^TLSv1\.[23]$/)
      expect(yield* roundTrip(connectable, "x")).toBe("#2:x")
    }))

  it.scoped("fails typed: refused, unresolvable, untrusted, bad port", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const port = portOf(listener)
      yield* listener.close
      const refused = yield* Effect.flip(Effect.scoped(Socket.tcpConnectable(HOST, port).connect))
      expect(refused._tag).toBe("ConnectError")
      const unresolvable = yield* Effect.flip(Effect.scoped(Socket.tcpConnectable("nonexistent.invalid", 80).connect))
      expect(unresolvable._tag).toBe("ResolveError")
      const bad = yield* Effect.flip(Effect.scoped(Socket.tcpConnectable(HOST, 70000).connect))
      expect(bad._tag).toBe("InvalidArgumentError")

      const tlsListener = yield* Listener.createTcpListener({
        localHost: HOST,
        tls: { cert: certs().untrusted.cert, key: certs().untrusted.key }
      })
      yield* Effect.forkScoped(tlsListener.serve(() => Effect.never))
      const untrusted = yield* Effect.flip(
        Effect.scoped(Socket.tcpConnectable(HOST, portOf(tlsListener), { tls: { ca: certs().ca.cert } }).connect)
      )
      expect(untrusted._tag).toBe("TlsError")
    }))

  it.scoped("closes the stream with connect's scope", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const connectable = Socket.tcpConnectable(HOST, portOf(listener))
      const stream = yield* Effect.scoped(connectable.connect)
      const exit = yield* Effect.exit(stream.send("late"))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})

describe("Socket.unixConnectable", () => {
  it.scoped("connects anew on every connect", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "u1")
      const listener = yield* Listener.createUnixListener(at)
      yield* Effect.forkScoped(countingServer(listener))
      const connectable = Socket.unixConnectable(at)
      expect(yield* roundTrip(connectable, "a")).toBe("#1:a")
      expect(yield* roundTrip(connectable, "b")).toBe("#2:b")
    }))

  it.scoped("fails typed when nobody listens or the path is too long", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Effect.scoped(Socket.unixConnectable(path.join(dir, "none")).connect))
      expect(missing._tag).toBe("ConnectError")
      const long = yield* Effect.flip(Effect.scoped(Socket.unixConnectable("/" + "x".repeat(200)).connect))
      expect(long._tag).toBe("InvalidArgumentError")
    }))
})
