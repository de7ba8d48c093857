/**
 * The Effect 4 edition's TCP streams and listeners on loopback, against raw `node:net` peers and a
 * python3 peer: send/receive, EndOfStream, half-close, `stream`/`sink`, the one-reader rule,
 * happy eyeballs in resolver order, `ConnectError` attempts, listeners and `serve`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Sink, Stream } from "effect"
import { ByteStream, Listener, NetError, Socket } from "../../src/effect4/index.js"
import { runPython } from "./helpers/python.js"
import { freePort, peerEnd, peerReadToEnd, peerWrite, rawClient, rawServer } from "./helpers/rawPeers.js"

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

const connected = (host = "127.0.0.1") =>
  Effect.gen(function*() {
    const server = yield* rawServer(host)
    const client = yield* Socket.connectTcp(host, server.port)
    const peer = yield* server.accept
    return { server, client, peer }
  })

describe("Socket.connectTcp (Effect 4)", () => {
  for (const host of ["127.0.0.1", "::1"]) {
    it.effect(`exchanges bytes with a raw peer and ends with EndOfStream (${host})`, () =>
      Effect.gen(function*() {
        const { client, peer } = yield* connected(host)
        expect(ByteStream.isByteStream(client)).toBe(true)
        expect(client.attributes.family).toBe(host === "::1" ? "IPv6" : "IPv4")
        expect(client.attributes.remoteAddress).toEqual({ _tag: "InetAddress", host, port: peer.localPort })
        const read = yield* Effect.forkChild(peerReadToEnd(peer))
        yield* client.send("hello ")
        yield* client.send(new TextEncoder().encode("world"))
        yield* client.sendEof
        expect(yield* Fiber.join(read)).toBe("hello world")
        const closedSend = yield* Effect.flip(client.send("late"))
        expect(closedSend._tag).toBe("ClosedResourceError")
        yield* peerWrite(peer, "reply")
        yield* peerEnd(peer)
        expect(text(yield* client.receive())).toBe("reply")
        const end = yield* Effect.flip(client.receive())
        expect(end).toBeInstanceOf(NetError.EndOfStream)
        // EndOfStream is sticky: asking again gives the same answer.
        expect((yield* Effect.flip(client.receive()))._tag).toBe("EndOfStream")
      }))
  }

  it.effect("receive(maxBytes) splits a chunk; bad maxBytes and bad data fail before any I/O", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connected()
      yield* peerWrite(peer, "abcdef")
      expect(text(yield* client.receive(4))).toBe("abcd")
      expect(text(yield* client.receive(4))).toBe("ef")
      const badMax = yield* Effect.flip(client.receive(0))
      expect(badMax._tag).toBe("InvalidArgumentError")
      const badData = yield* Effect.flip(client.send(42 as unknown as string))
      expect(badData).toMatchObject({ _tag: "InvalidArgumentError", argument: "data" })
    }))

  it.effect("stream runs every chunk to the end; sink sends every element", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connected()
      const read = yield* Effect.forkChild(peerReadToEnd(peer))
      yield* Stream.run(Stream.make("a", "b", new TextEncoder().encode("c")), client.sink)
      yield* client.sendEof
      expect(yield* Fiber.join(read)).toBe("abc")
      for (let i = 0; i < 5; i++) yield* peerWrite(peer, `${i}`)
      yield* peerEnd(peer)
      const chunks = yield* Stream.runCollect(client.stream)
      expect(chunks.map(text).join("")).toBe("01234")
    }))

  it.effect("a second concurrent receive fails with BusyResourceError; an interrupted one consumes nothing", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connected()
      const first = yield* Effect.forkChild(client.receive())
      yield* Effect.yieldNow
      const busy = yield* Effect.flip(client.receive())
      expect(busy).toMatchObject({ _tag: "BusyResourceError", operation: "reading from" })
      yield* Fiber.interrupt(first)
      yield* peerWrite(peer, "kept")
      expect(text(yield* client.receive())).toBe("kept")
    }))

  it.effect("close makes later operations ClosedResourceError and the peer sees EOF", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connected()
      const read = yield* Effect.forkChild(peerReadToEnd(peer))
      yield* client.close
      yield* client.close
      expect(yield* Fiber.join(read)).toBe("")
      expect((yield* Effect.flip(client.receive()))._tag).toBe("ClosedResourceError")
      expect((yield* Effect.flip(client.send("x")))._tag).toBe("ClosedResourceError")
    }))

  it.effect("a refused port is a ConnectError with its one attempt", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const error = yield* Effect.flip(Socket.connectTcp("127.0.0.1", port))
      expect(error).toBeInstanceOf(NetError.ConnectError)
      expect(error).toMatchObject({ reason: "ConnectionRefused", host: "127.0.0.1", port })
      expect((error as NetError.ConnectError).attempts.map((a) => a.host)).toEqual(["127.0.0.1"])
    }))

  it.effect("happy eyeballs tries the resolver's addresses in order and keeps the first that connects", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("::1")
      // A refused address first (nothing listens on that port there), then the one that answers.
      const resolver = () => Effect.succeed(["127.0.0.1", "::1"])
      const client = yield* Socket.connectTcp("service.test", server.port, {
        resolver,
        happyEyeballsDelay: "5 seconds"
      })
      expect(client.attributes.remoteAddress).toMatchObject({ host: "::1", port: server.port })
      const none = yield* Effect.flip(
        Socket.connectTcp("service.test", server.port, { resolver: () => Effect.succeed([]) })
      )
      expect(none).toMatchObject({ _tag: "ResolveError", reason: "NoAddress" })
    }))

  it.effect("every failed attempt is listed in the ConnectError, in order", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const resolver = () => Effect.succeed(["127.0.0.1", "::1"])
      const error = yield* Effect.flip(Socket.connectTcp("service.test", port, { resolver }))
      expect(error._tag).toBe("ConnectError")
      const attempts = (error as NetError.ConnectError).attempts
      expect(attempts.map((a) => [a.host, a.reason])).toEqual([
        ["127.0.0.1", "ConnectionRefused"],
        ["::1", "ConnectionRefused"]
      ])
    }))

  it.effect("setTcpOptions changes an open stream's options; a closed one is ClosedResourceError", () =>
    Effect.gen(function*() {
      const { client } = yield* connected()
      yield* Socket.setTcpOptions(client, { noDelay: false, keepAlive: "10 seconds" })
      const bad = yield* Effect.flip(Socket.setTcpOptions(client, { keepAlive: "1500 millis" }))
      expect(bad).toMatchObject({ _tag: "InvalidArgumentError", argument: "keepAlive" })
      yield* client.close
      expect((yield* Effect.flip(Socket.setTcpOptions(client, { noDelay: true })))._tag).toBe("ClosedResourceError")
    }))
})

describe("Listener.createTcpListener and serve (Effect 4)", () => {
  it.effect("accepts a raw client on a dual-stack port; accept is scoped", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const port = listener.addresses[0]!.port
      const raw = yield* rawClient("127.0.0.1", port)
      const stream = yield* listener.accept
      raw.write("ping")
      expect(text(yield* stream.receive())).toBe("ping")
      raw.end()
      expect((yield* Effect.flip(stream.receive()))._tag).toBe("EndOfStream")
    }))

  it.effect("the default listener serves IPv4 and IPv6 on one port", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener()
      const port = listener.addresses[0]!.port
      for (const host of ["127.0.0.1", "::1"]) {
        const client = yield* Socket.connectTcp(host, port)
        const accepted = yield* listener.accept
        yield* client.send(host)
        expect(text(yield* accepted.receive())).toBe(host)
      }
    }))

  it.effect("serve runs each connection on its own fiber; a failing handler is logged, not fatal", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const port = listener.addresses[0]!.port
      yield* Effect.forkChild(listener.serve((stream) =>
        Effect.gen(function*() {
          const line = text(yield* stream.receive())
          if (line === "fail") return yield* Effect.fail("handler failed")
          yield* stream.send(line.toUpperCase())
        })
      ))
      for (const word of ["fail", "one", "two"]) {
        const client = yield* Socket.connectTcp("127.0.0.1", port)
        yield* client.send(word)
        const reply = yield* Effect.result(client.receive())
        if (word === "fail") expect(reply._tag === "Failure" && reply.failure._tag).toBe("EndOfStream")
        else expect(reply._tag === "Success" && text(reply.success)).toBe(word.toUpperCase())
      }
    }))

  it.effect("serve with onHandlerError: fail ends with the handler's error; maxConnections is validated", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const port = listener.addresses[0]!.port
      const served = yield* Effect.forkChild(
        listener.serve(() => Effect.fail("boom" as const), { onHandlerError: "fail" })
      )
      yield* Socket.connectTcp("127.0.0.1", port)
      expect(yield* Effect.flip(Fiber.join(served))).toBe("boom")
      const bad = yield* Effect.flip(listener.serve(() => Effect.void, { maxConnections: 0 }))
      expect(bad).toMatchObject({ _tag: "InvalidArgumentError", argument: "maxConnections" })
    }))

  it.effect("layerTcp provides the Listener service to Listener.serve", () =>
    Effect.gen(function*() {
      const ready = yield* Deferred.make<number>()
      const program = Effect.gen(function*() {
        const listener = yield* Listener.TcpListener
        yield* Deferred.succeed(ready, listener.addresses[0]!.port)
        return yield* Listener.serve((stream) => Effect.flatMap(stream.receive(), (bytes) => stream.send(bytes)))
      }).pipe(Effect.provide(Listener.layerTcp({ localHost: "127.0.0.1" })))
      yield* Effect.forkChild(program)
      const client = yield* Socket.connectTcp("127.0.0.1", yield* Deferred.await(ready))
      yield* client.send("echo")
      expect(text(yield* client.receive())).toBe("echo")
    }))

  it.effect("a python3 client talks to serve (interop)", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const port = listener.addresses[0]!.port
      yield* Effect.forkChild(listener.serve((stream) =>
        Stream.run(
          stream.stream.pipe(Stream.map((bytes) => text(bytes).toUpperCase())),
          Sink.forEach((reply: string) => stream.send(reply))
        ).pipe(Effect.andThen(stream.sendEof))
      ))
      const script = [
        "import socket, sys",
        `s = socket.create_connection(("127.0.0.1", ${port}), timeout=10)`,
        "s.sendall(b'from python'); s.shutdown(socket.SHUT_WR)",
        "data = b''",
        "while True:",
        "    chunk = s.recv(65536)",
        "    if not chunk: break",
        "    data += chunk",
        "sys.stdout.write(data.decode())"
      ].join("\n")
      const out = yield* runPython(script)
      expect(out).toBe("FROM PYTHON")
    }))
})
