/**
 * Observability (#16): the spans as OpenTelemetry receives them (through @effect/opentelemetry's
 * NodeSdk, an InMemorySpanExporter and a SimpleSpanProcessor) and the metrics after known
 * traffic, read with Metric.value.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Logger, Metric } from "effect"
import * as net from "node:net"
import { ByteStream, Listener, Socket } from "../src/index.js"
import * as telemetry from "../src/internal/telemetry.js"
import { useTestCerts } from "./helpers/certs.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"
// A fresh exporter per test: the layer's end shuts its processor and exporter down.
let exporter = new InMemorySpanExporter()
const traced = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    exporter = new InMemorySpanExporter()
    return Effect.provide(
      self,
      NodeSdk.layer(() => ({
        resource: { serviceName: "effect-sockets-test" },
        spanProcessor: new SimpleSpanProcessor(exporter)
      }))
    )
  })

const portOf = (listener: Listener.Listener<ByteStream.ByteStream>): number => {
  const address = listener.addresses[0]!
  return address._tag === "InetAddress" ? address.port : 0
}

const parentOf = (span: ReadableSpan): string | undefined =>
  (span as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId

/** The finished spans named `name`, waiting (a little) until there are `count`. */
const spansNamed = (name: string, count = 1) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name)
      if (found.length >= count) return found
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.dieMessage(`no finished span ${name}`)
  })

/** Reads until EndOfStream; the bytes received. */
const readAll = (stream: ByteStream.ByteStream) =>
  Effect.gen(function*() {
    let total = 0
    for (;;) {
      const chunk = yield* stream.receive().pipe(
        Effect.catchTag("EndOfStream", () => Effect.succeed(undefined))
      )
      if (chunk === undefined) return total
      total += chunk.length
    }
  })

const counter = (metric: Metric.Metric.Counter<number>, ...tags: ReadonlyArray<readonly [string, string]>) =>
  Metric.value(tags.reduce((m, [k, v]) => Metric.tagged(m, k, v), metric)).pipe(Effect.map((s) => s.count))

describe("telemetry", () => {
  it.scopedLive("a served TLS connection: Listener.connection holds the handshake and the handler's own span", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({
        localHost: HOST,
        tls: { cert: certs().server.cert, key: certs().server.key }
      })
      const port = portOf(listener)
      yield* Effect.forkScoped(listener.serve((stream) =>
        Effect.gen(function*() {
          const bytes = yield* stream.receive()
          yield* stream.send(bytes)
        }).pipe(Effect.withSpan("handler.echo"))
      ))
      const clientPort = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectTcp(HOST, port, { tls: { ca: certs().ca.cert } })
        yield* client.send("ping")
        expect(Buffer.from(yield* client.receive()).toString()).toBe("ping")
        return client.attributes.localAddress.port
      }))

      const [connection] = yield* spansNamed("Listener.connection")
      expect(connection!.attributes).toEqual({
        "network.transport": "tcp",
        "network.peer.address": HOST,
        "network.peer.port": clientPort,
        "server.address": HOST,
        "server.port": port
      })
      const [handler] = yield* spansNamed("handler.echo")
      expect(parentOf(handler!)).toBe(connection!.spanContext().spanId)

      const handshakes = yield* spansNamed("Socket.wrapTls", 2)
      const server = handshakes.find((s) => parentOf(s) === connection!.spanContext().spanId)!
      expect(server).toBeDefined()
      expect(server.attributes["tls.protocol.version"]).toBe("1.3")
      expect(server.attributes["tls.cipher"]).toMatch(/^TLS_/)
      expect(server.attributes["network.peer.port"]).toBe(clientPort)
      expect(server.attributes["server.port"]).toBe(port)
      expect(server.attributes["error.type"]).toBeUndefined()

      const [connect] = yield* spansNamed("Socket.connectTcp")
      expect(connect!.attributes).toMatchObject({
        "network.transport": "tcp",
        "server.address": HOST,
        "server.port": port,
        "network.peer.address": HOST,
        "network.peer.port": port
      })
      const client = handshakes.find((s) => parentOf(s) === connect!.spanContext().spanId)!
      expect(client.attributes["tls.protocol.version"]).toBe("1.3")
      expect(client.attributes["tls.cipher"]).toBe(server.attributes["tls.cipher"])
      const [attempt] = yield* spansNamed("Socket.connectTcp.attempt")
      expect(parentOf(attempt!)).toBe(connect!.spanContext().spanId)
      expect(attempt!.attributes).toMatchObject({
        "network.peer.address": HOST,
        "network.peer.port": port,
        "effect_sockets.attempt.outcome": "won"
      })
    }).pipe(traced))

  it.scopedLive("a failed server-side handshake: error.type on Socket.wrapTls and on Listener.connection", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({
        localHost: HOST,
        tls: { cert: certs().server.cert, key: certs().server.key }
      })
      yield* Effect.forkScoped(
        listener.serve(() => Effect.void).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))
      )
      yield* Effect.async<void>((resume) => {
        const socket = net.connect(portOf(listener), HOST, () => socket.end("GET / HTTP/1.0\r\n\r\n"))
        socket.on("error", () => {})
        socket.on("close", () => resume(Effect.void))
        socket.resume()
      })
      const [connection] = yield* spansNamed("Listener.connection")
      expect(connection!.attributes["error.type"]).toBe("Protocol")
      const [handshake] = yield* spansNamed("Socket.wrapTls")
      expect(parentOf(handshake!)).toBe(connection!.spanContext().spanId)
      expect(handshake!.attributes["error.type"]).toBe("Protocol")
      expect(handshake!.status.code).toBe(2)
    }).pipe(traced))

  it.scopedLive("a failed connect: error.type on the span and its attempt, counted in connect_errors", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(
        Effect.map(Listener.createTcpListener({ localHost: HOST }), portOf)
      )
      const before = yield* counter(telemetry.connectErrors, ["reason", "ConnectionRefused"])
      const error = yield* Effect.flip(Effect.scoped(Socket.connectTcp(HOST, port)))
      expect(error._tag).toBe("ConnectError")
      const [connect] = yield* spansNamed("Socket.connectTcp")
      expect(connect!.attributes).toMatchObject({
        "network.transport": "tcp",
        "server.address": HOST,
        "server.port": port,
        "error.type": "ConnectionRefused"
      })
      expect(connect!.status.code).toBe(2) // ERROR
      const [attempt] = yield* spansNamed("Socket.connectTcp.attempt")
      expect(parentOf(attempt!)).toBe(connect!.spanContext().spanId)
      expect(attempt!.attributes).toMatchObject({
        "network.peer.address": HOST,
        "network.peer.port": port,
        "error.type": "ConnectionRefused",
        "effect_sockets.attempt.outcome": "failed"
      })
      expect(yield* counter(telemetry.connectErrors, ["reason", "ConnectionRefused"])).toBe(before + 1)
    }).pipe(traced))

  it.scopedLive("a TCP echo: exact byte counts, connections opened by side, the active gauge back to where it was", () =>
    Effect.gen(function*() {
      const tcp = ["transport", "tcp"] as const
      const sent0 = yield* counter(telemetry.bytesSent, tcp)
      const received0 = yield* counter(telemetry.bytesReceived, tcp)
      const clients0 = yield* counter(telemetry.connectionsOpened, tcp, ["side", "client"])
      const servers0 = yield* counter(telemetry.connectionsOpened, tcp, ["side", "server"])
      const active = Metric.tagged(telemetry.connectionsActive, "transport", "tcp")
      const active0 = (yield* Metric.value(active)).value

      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* Effect.forkScoped(listener.serve((stream) =>
        Effect.gen(function*() {
          for (;;) {
            const chunk = yield* stream.receive().pipe(Effect.catchTag("EndOfStream", () => Effect.succeed(undefined)))
            if (chunk === undefined) return
            yield* stream.send(chunk)
          }
        })
      ))
      // 3 × 100,000 + 1 bytes: more than FLUSH_BYTES, so a mid-stream flush happens too.
      const sizes = [100_000, 100_000, 100_000, 1]
      const total = sizes.reduce((a, b) => a + b, 0)
      const echoed = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectTcp(HOST, portOf(listener))
        const reader = yield* Effect.fork(readAll(client))
        for (const size of sizes) yield* client.send(new Uint8Array(size).fill(7))
        yield* client.sendEof
        expect((yield* Metric.value(active)).value).toBe(active0 + 2)
        return yield* reader.await.pipe(Effect.flatMap((exit) => exit))
      }))
      expect(echoed).toBe(total)
      // client sent total, server sent total back; each side received as much.
      expect((yield* counter(telemetry.bytesSent, tcp)) - sent0).toBe(2 * total)
      expect((yield* counter(telemetry.bytesReceived, tcp)) - received0).toBe(2 * total)
      expect((yield* counter(telemetry.connectionsOpened, tcp, ["side", "client"])) - clients0).toBe(1)
      expect((yield* counter(telemetry.connectionsOpened, tcp, ["side", "server"])) - servers0).toBe(1)
      expect((yield* Metric.value(active)).value).toBe(active0)
    }))
})
