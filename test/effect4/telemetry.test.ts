/**
 * The Effect 4 edition's metrics (#18; the same names, attributes and meaning as the Effect 3
 * edition's, test/telemetry.test.ts) after real traffic on loopback: TCP, UNIX, TLS and UDP
 * against raw `node:net`/`node:dgram` peers that count their own bytes, read back with Effect 4's
 * `Metric.value` and `Metric.snapshot`. Metrics are process-wide (the default registry), so
 * every check is a difference from the value before the scenario.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Logger, Metric } from "effect"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { ByteStream } from "../../src/effect4/ByteStream.js"
import * as Datagram from "../../src/effect4/Datagram/index.js"
import { Listener, Socket } from "../../src/effect4/index.js"
import { metrics } from "../../src/effect4/internal/telemetry.js"
import { FLUSH_BYTES } from "../../src/internal/telemetryRules.js"
import { makeTestCerts, removeTestCerts } from "../helpers/certs.js"
import { freePort, rawServer } from "./helpers/rawPeers.js"

const HOST = "127.0.0.1"
// More than FLUSH_BYTES in each direction, so a mid-stream flush happens as well as the last one.
const SIZES = [100_000, 100_000, 100_000, 1]
const TOTAL = SIZES.reduce((a, b) => a + b, 0)

const counter = (metric: Metric.Counter<number>, attributes: Record<string, string> = {}) =>
  Effect.map(Metric.value(Metric.withAttributes(metric, attributes)), (state) => state.count)
const active = (transport: string) =>
  Effect.map(Metric.value(Metric.withAttributes(metrics.connectionsActive, { transport })), (s) => s.value)
const handshakes = Effect.map(Metric.value(metrics.tlsHandshakeDuration), (state) => state.count)

/** Every series of a metric, summed (any attributes): what `Metric.snapshot` exports. */
const total = (id: string) =>
  Effect.map(
    Metric.snapshot,
    (snapshots) =>
      snapshots.filter((s) => s.id === id).reduce((sum, s) => sum + ((s.state as { count?: number }).count ?? 0), 0)
  )

/** Every counter and gauge a scenario can move, by transport, read at once. */
const readings = (transport: "tcp" | "unix" | "udp") =>
  Effect.all({
    sent: counter(metrics.bytesSent, { transport }),
    received: counter(metrics.bytesReceived, { transport }),
    clients: counter(metrics.connectionsOpened, { transport, side: "client" }),
    servers: counter(metrics.connectionsOpened, { transport, side: "server" }),
    active: active(transport),
    accepted: counter(metrics.connectionsAccepted),
    handlerFailures: counter(metrics.handlerFailures),
    handshakeFailures: counter(metrics.handshakeFailures),
    handshakes,
    dropped: counter(metrics.datagramsDropped)
  })
type Readings = Effect.Success<ReturnType<typeof readings>>
const changes = (before: Readings, after: Readings): Readings =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof Readings]])) as Readings

/** Waits (boundedly: 300 × 10 ms) until `done` holds of a fresh reading; the last reading. */
const until = <A>(read: Effect.Effect<A>, done: (a: A) => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 300; i++) {
      const value = yield* read
      if (done(value)) return value
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** Reads until EndOfStream (or any failure); the bytes received. */
const readAll = (stream: ByteStream) =>
  Effect.gen(function*() {
    let bytes = 0
    for (;;) {
      const chunk = yield* stream.receive().pipe(Effect.catch(() => Effect.succeed(undefined)))
      if (chunk === undefined) return bytes
      bytes += chunk.length
    }
  })

/** A handler that echoes until the client's EOF. */
const echo = (stream: ByteStream) =>
  Effect.gen(function*() {
    for (;;) {
      const chunk = yield* stream.receive().pipe(Effect.catchTag("EndOfStream", () => Effect.succeed(undefined)))
      if (chunk === undefined) return
      yield* stream.send(chunk)
    }
  })

/**
 * A raw node:net client: writes SIZES, half-closes, and counts what comes back until the end;
 * resolves with what it wrote and received (its own count, not ours).
 */
const rawClientExchange = (connect: () => net.Socket) =>
  Effect.callback<{ readonly wrote: number; readonly got: number }, Error>((resume) => {
    const socket = connect()
    let wrote = 0
    let got = 0
    socket.on("error", (error) => resume(Effect.fail(error)))
    socket.on("connect", () => {
      for (const size of SIZES) {
        socket.write(Buffer.alloc(size, 7))
        wrote += size
      }
      socket.end()
    })
    socket.on("data", (chunk: Buffer) => (got += chunk.length))
    socket.on("close", () => resume(Effect.succeed({ wrote, got })))
  })

const portOf = (listener: Listener.Listener<ByteStream>): number => {
  const address = listener.addresses[0]!
  return address._tag === "InetAddress" ? address.port : 0
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es4-telemetry-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, Logger.layer([]))

describe("telemetry (Effect 4)", () => {
  it.live("serve over TCP to a raw node:net client: exact byte counts, accepted, opened, the gauge back", () =>
    Effect.gen(function*() {
      expect(TOTAL).toBeGreaterThan(FLUSH_BYTES)
      const before = yield* readings("tcp")
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* Effect.forkScoped(listener.serve(echo))
      const peer = yield* rawClientExchange(() => net.connect(portOf(listener), HOST))
      expect(peer).toEqual({ wrote: TOTAL, got: TOTAL })
      // The server's stream closes after the handler ends (its finalizer): wait for the gauge.
      const after = yield* until(readings("tcp"), (r) => r.active === before.active, "the server stream to close")
      expect(changes(before, after)).toMatchObject({
        received: peer.wrote,
        sent: peer.got,
        servers: 1,
        clients: 0,
        accepted: 1,
        active: 0,
        handlerFailures: 0
      })
    }))

  it.live("connectTcp to a raw node:net server: bytes as the server counted them, one client, the gauge", () =>
    Effect.gen(function*() {
      const before = yield* readings("tcp")
      const server = yield* rawServer(HOST)
      const served = Effect.gen(function*() {
        const socket = yield* server.accept
        return yield* Effect.callback<{ readonly got: number; readonly wrote: number }>((resume) => {
          let got = 0
          let wrote = 0
          socket.on("data", (chunk: Buffer) => {
            got += chunk.length
            wrote += chunk.length
            socket.write(chunk)
          })
          socket.on("end", () => socket.end(() => resume(Effect.succeed({ got, wrote }))))
          socket.resume()
        })
      })
      const [peer, received] = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectTcp(HOST, server.port)
        const peerFiber = yield* Effect.forkChild(served)
        const reader = yield* Effect.forkChild(readAll(client))
        for (const size of SIZES) yield* client.send(new Uint8Array(size).fill(1))
        yield* client.sendEof
        expect((yield* active("tcp")) - before.active).toBe(1)
        return [yield* Fiber.join(peerFiber), yield* Fiber.join(reader)] as const
      }))
      expect(received).toBe(peer.wrote)
      expect(changes(before, yield* readings("tcp"))).toMatchObject({
        sent: peer.got,
        received: peer.wrote,
        clients: 1,
        servers: 0,
        active: 0,
        accepted: 0
      })
    }))

  it.live("a refused connect counts in connect_errors under its reason; an argument error is not counted", () =>
    Effect.gen(function*() {
      const port = yield* freePort(HOST)
      const refused0 = yield* counter(metrics.connectErrors, { reason: "ConnectionRefused" })
      const all0 = yield* total("effect_sockets_connect_errors")
      const error = yield* Effect.flip(Effect.scoped(Socket.connectTcp(HOST, port)))
      expect(error).toMatchObject({ _tag: "ConnectError", reason: "ConnectionRefused" })
      expect((yield* counter(metrics.connectErrors, { reason: "ConnectionRefused" })) - refused0).toBe(1)
      const invalid = yield* Effect.flip(Effect.scoped(Socket.connectTcp(HOST, -1)))
      expect(invalid._tag).toBe("InvalidArgumentError")
      expect((yield* total("effect_sockets_connect_errors")) - all0).toBe(1)

      const dir = yield* tempDir
      const missing = yield* Effect.flip(Effect.scoped(Socket.connectUnix(path.join(dir, "nobody.sock"))))
      expect(missing._tag).toBe("ConnectError")
      const reason = (missing as { reason: string }).reason
      expect(yield* counter(metrics.connectErrors, { reason })).toBeGreaterThanOrEqual(1)
      expect((yield* total("effect_sockets_connect_errors")) - all0).toBe(2)
    }))

  it.live("a handler's failure and a handler's defect each count in handler_failures; serve goes on", () =>
    Effect.gen(function*() {
      const before = yield* readings("tcp")
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      let calls = 0
      yield* Effect.forkScoped(
        quiet(
          listener.serve(() =>
            ++calls === 1 ? Effect.fail("boom") : calls === 2 ? Effect.die(new Error("bug")) : Effect.void
          )
        )
      )
      for (let i = 0; i < 3; i++) {
        yield* rawClientExchange(() => net.connect(portOf(listener), HOST)).pipe(Effect.ignore)
      }
      const after = yield* until(
        readings("tcp"),
        (r) => r.handlerFailures - before.handlerFailures >= 2 && r.active === before.active,
        "two handler failures"
      )
      expect(changes(before, after)).toMatchObject({ accepted: 3, servers: 3, handlerFailures: 2, active: 0 })
    }))

  it.live("TLS: plaintext counted once under tcp, both handshakes timed; a plain-text client fails the handshake", () =>
    Effect.gen(function*() {
      const certs = yield* Effect.acquireRelease(
        Effect.sync(makeTestCerts),
        (c) => Effect.sync(() => removeTestCerts(c))
      )
      const before = yield* readings("tcp")
      const listener = yield* Listener.createTcpListener({
        localHost: HOST,
        tls: { cert: certs.server.cert, key: certs.server.key }
      })
      yield* Effect.forkScoped(quiet(listener.serve(echo)))
      const received = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectTcp("localhost", portOf(listener), { tls: { ca: certs.ca.cert } })
        yield* client.send("ping")
        const bytes = yield* client.receive()
        return bytes.length
      }))
      expect(received).toBe(4)
      const served = yield* until(readings("tcp"), (r) => r.active === before.active, "the TLS connection to close")
      // Each side sent and received the 4 bytes of plaintext; the ciphertext under it is not counted.
      expect(changes(before, served)).toMatchObject({
        sent: 8,
        received: 8,
        clients: 1,
        servers: 1,
        accepted: 1,
        handshakes: 2,
        handshakeFailures: 0,
        active: 0
      })

      yield* Effect.callback<void>((resume) => {
        const socket = net.connect(portOf(listener), HOST, () => socket.end("GET / HTTP/1.0\r\n\r\n"))
        socket.on("error", () => {})
        socket.on("close", () => resume(Effect.void))
        socket.resume()
      })
      const failed = yield* until(
        readings("tcp"),
        (r) => r.handshakeFailures > served.handshakeFailures && r.active === before.active,
        "the handshake failure"
      )
      expect(changes(served, failed)).toMatchObject({
        handshakeFailures: 1,
        handshakes: 1,
        accepted: 1,
        servers: 1,
        handlerFailures: 0,
        active: 0
      })
    }))

  it.live("UNIX: connectUnix to a UNIX listener counts bytes under unix, both sides, the gauge back", () =>
    Effect.gen(function*() {
      const at = path.join(yield* tempDir, "echo.sock")
      const before = yield* readings("unix")
      const listener = yield* Listener.createUnixListener(at)
      yield* Effect.forkScoped(listener.serve(echo))
      const echoed = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectUnix(at)
        const reader = yield* Effect.forkChild(readAll(client))
        for (const size of SIZES) yield* client.send(new Uint8Array(size).fill(3))
        yield* client.sendEof
        expect((yield* active("unix")) - before.active).toBe(2)
        return yield* Fiber.join(reader)
      }))
      expect(echoed).toBe(TOTAL)
      const after = yield* until(readings("unix"), (r) => r.active === before.active, "the server stream to close")
      expect(changes(before, after)).toMatchObject({
        sent: 2 * TOTAL,
        received: 2 * TOTAL,
        clients: 1,
        servers: 1,
        accepted: 1,
        active: 0
      })
    }))

  it.live("UDP: bytes as raw node:dgram peers counted them, dropped datagrams (dropped bytes included)", () =>
    Effect.gen(function*() {
      const before = yield* readings("udp")
      const peer = yield* Effect.acquireRelease(
        Effect.callback<dgram.Socket>((resume) => {
          const socket = dgram.createSocket("udp4")
          socket.bind(0, HOST, () => resume(Effect.succeed(socket)))
        }),
        (socket) => Effect.callback<void>((resume) => void socket.close(() => resume(Effect.void)))
      )
      let peerGot = 0
      peer.on("message", (payload) => (peerGot += payload.length))
      const payloads = ["a", "bb", "ccc", "dddd", "eeeee"]
      const sentByPeer = payloads.reduce((sum, p) => sum + p.length, 0)

      const dropped = yield* Effect.scoped(Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: HOST, receiveQueueSize: 1 })
        const port = udp.attributes.localAddress.port
        for (const payload of payloads) {
          yield* Effect.callback<void>((resume) => peer.send(payload, port, HOST, () => resume(Effect.void)))
        }
        // The queue holds one; the other four are dropped as they arrive.
        const dropped = yield* until(udp.dropped, (n) => n === payloads.length - 1, "four drops")
        yield* udp.sendto("reply", HOST, peer.address().port)
        yield* udp.sendto("again!", HOST, peer.address().port)
        yield* until(Effect.sync(() => peerGot), (n) => n === 11, "the peer to get both replies")
        return dropped
      }))
      expect(changes(before, yield* readings("udp"))).toMatchObject({
        received: sentByPeer,
        sent: peerGot,
        dropped,
        clients: 0,
        servers: 0,
        active: 0
      })
    }))
})
