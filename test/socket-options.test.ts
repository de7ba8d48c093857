/**
 * Socket control (#15 item 1): keepAlive, noDelay, buffer sizes and ipv6Only on TCP clients,
 * TCP listeners (each accepted connection), open streams and UDP sockets, each read back from
 * the real socket by an independent python3 reader (helpers/sockopt.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as net from "node:net"
import { Datagram, Listener, NetError, Socket } from "../src/index.js"
import { rawServer } from "./helpers/rawPeers.js"
import { readSockopts, socketFd } from "./helpers/sockopt.js"

const KEEPALIVE = ["SOL_SOCKET:SO_KEEPALIVE", "IPPROTO_TCP:TCP_KEEPIDLE"] as const
const BUFFERS = ["SOL_SOCKET:SO_RCVBUF", "SOL_SOCKET:SO_SNDBUF"] as const

const clientFd = (client: Socket.TcpStream) =>
  socketFd(["tcp", "tcp6"], client.attributes.localAddress.port, client.attributes.remoteAddress.port)

/** A raw client connected to `port`; resolves once connected, destroyed with the scope. */
const rawClient = (port: number) =>
  Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

const expectInvalid = <A, E, R>(effect: Effect.Effect<A, E, R>, argument: string) =>
  Effect.map(Effect.either(effect), (result) => {
    expect(Either.isLeft(result)).toBe(true)
    const error = (result as Either.Left<E, A>).left
    expect(error).toBeInstanceOf(NetError.InvalidArgumentError)
    expect((error as NetError.InvalidArgumentError).argument).toBe(argument)
  })

describe("TCP client socket options (#15, beside A7)", () => {
  it.scopedLive("A7 keepAlive is off by default", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const client = yield* Socket.connectTcp("127.0.0.1", server.port)
      const [on] = yield* readSockopts(clientFd(client), "SOL_SOCKET:SO_KEEPALIVE")
      expect(on).toBe(0)
    }))

  it.scopedLive("A7 keepAlive: true turns SO_KEEPALIVE on", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const client = yield* Socket.connectTcp("127.0.0.1", server.port, { keepAlive: true })
      const [on] = yield* readSockopts(clientFd(client), "SOL_SOCKET:SO_KEEPALIVE")
      expect(on).toBe(1)
    }))

  it.scopedLive("A7 keepAlive as a Duration sets TCP_KEEPIDLE", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const client = yield* Socket.connectTcp("127.0.0.1", server.port, { keepAlive: "42 seconds" })
      expect(yield* readSockopts(clientFd(client), ...KEEPALIVE)).toEqual([1, 42])
    }))

  it.scopedLive("A7 receiveBufferSize and sendBufferSize set SO_RCVBUF/SO_SNDBUF (Linux doubles them)", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const client = yield* Socket.connectTcp("127.0.0.1", server.port, {
        receiveBufferSize: 32768,
        sendBufferSize: 49152
      })
      expect(yield* readSockopts(clientFd(client), ...BUFFERS)).toEqual([65536, 98304])
      yield* client.send("still works")
    }))

  it.scopedLive("A7 setTcpOptions changes an open stream", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const client = yield* Socket.connectTcp("127.0.0.1", server.port)
      yield* Socket.setTcpOptions(client, { keepAlive: "7 seconds", noDelay: false, receiveBufferSize: 16384 })
      expect(
        yield* readSockopts(clientFd(client), ...KEEPALIVE, "IPPROTO_TCP:TCP_NODELAY", "SOL_SOCKET:SO_RCVBUF")
      ).toEqual([1, 7, 0, 32768])
      yield* Socket.setTcpOptions(client, { keepAlive: false })
      expect(yield* readSockopts(clientFd(client), "SOL_SOCKET:SO_KEEPALIVE")).toEqual([0])
    }))

  it.scopedLive("A7 setTcpOptions on a closed stream is ClosedResourceError", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const client = yield* Socket.connectTcp("127.0.0.1", server.port)
      yield* client.close
      const error = yield* Effect.flip(Socket.setTcpOptions(client, { noDelay: true }))
      expect(error._tag).toBe("ClosedResourceError")
    }))

  it.live("A7 bad option values are InvalidArgumentError before any I/O", () =>
    Effect.gen(function*() {
      // port 1 on loopback: nothing listens; a connection attempt would be a ConnectError
      const connect = (options: Socket.ConnectTcpOptions) => Effect.scoped(Socket.connectTcp("127.0.0.1", 1, options))
      yield* expectInvalid(connect({ keepAlive: "500 millis" }), "keepAlive")
      yield* expectInvalid(connect({ keepAlive: "1500 millis" }), "keepAlive")
      yield* expectInvalid(connect({ keepAlive: "10 hours" }), "keepAlive")
      yield* expectInvalid(connect({ keepAlive: "soon" as never }), "keepAlive")
      yield* expectInvalid(connect({ receiveBufferSize: 0 }), "receiveBufferSize")
      yield* expectInvalid(connect({ sendBufferSize: 1.5 }), "sendBufferSize")
      yield* expectInvalid(connect({ sendBufferSize: 2 ** 31 }), "sendBufferSize")
      yield* expectInvalid(connect({ noDelay: "yes" as never }), "noDelay")
    }))
})

describe("TCP listener socket options, per accepted connection (#15, B37 neighbourhood)", () => {
  it.scopedLive("B37 keepAlive, noDelay: false and buffer sizes reach each accepted connection", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({
        localHost: "127.0.0.1",
        keepAlive: "30 seconds",
        noDelay: false,
        receiveBufferSize: 24576,
        sendBufferSize: 40960
      })
      const port = listener.addresses[0]!.port
      for (let i = 0; i < 2; i++) {
        const peer = yield* rawClient(port)
        const accepted = yield* listener.accept
        expect(accepted.attributes.remoteAddress.port).toBe(peer.localPort)
        const fd = socketFd(["tcp", "tcp6"], port, peer.localPort!)
        expect(yield* readSockopts(fd, ...KEEPALIVE, "IPPROTO_TCP:TCP_NODELAY", ...BUFFERS)).toEqual([
          1,
          30,
          0,
          49152,
          81920
        ])
      }
    }))

  it.scopedLive("B37 accepted connections keep TCP_NODELAY on and keepAlive off by default", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const port = listener.addresses[0]!.port
      const peer = yield* rawClient(port)
      yield* listener.accept
      const fd = socketFd(["tcp", "tcp6"], port, peer.localPort!)
      expect(yield* readSockopts(fd, "SOL_SOCKET:SO_KEEPALIVE", "IPPROTO_TCP:TCP_NODELAY")).toEqual([0, 1])
    }))

  it.scopedLive("B37 ipv6Only on the wildcard listener sets IPV6_V6ONLY", () =>
    Effect.gen(function*() {
      for (const ipv6Only of [true, false]) {
        const listener = yield* Listener.createTcpListener({ ipv6Only })
        expect(listener.addresses).toHaveLength(1)
        const fd = socketFd(["tcp6"], listener.addresses[0]!.port)
        expect(yield* readSockopts(fd, "IPPROTO_IPV6:IPV6_V6ONLY")).toEqual([ipv6Only ? 1 : 0])
        yield* listener.close
      }
    }))

  it.live("B37 bad listener options are InvalidArgumentError before any I/O", () =>
    Effect.gen(function*() {
      const create = (options: Listener.TcpListenerOptions) => Effect.scoped(Listener.createTcpListener(options))
      yield* expectInvalid(create({ keepAlive: 0 }), "keepAlive")
      yield* expectInvalid(create({ receiveBufferSize: -1 }), "receiveBufferSize")
      yield* expectInvalid(create({ ipv6Only: "no" as never }), "ipv6Only")
      yield* expectInvalid(create({ ipv6Only: true, family: "IPv4" }), "ipv6Only")
    }))
})

describe("UDP socket options (#15, E68 neighbourhood)", () => {
  it.scopedLive("E68 ipv6Only and buffer sizes on a UDP socket", () =>
    Effect.gen(function*() {
      for (const ipv6Only of [true, false]) {
        const udp = yield* Datagram.createUdpSocket({
          family: "IPv6",
          ipv6Only,
          receiveBufferSize: 20480,
          sendBufferSize: 36864
        })
        const fd = socketFd(["udp6"], udp.attributes.localAddress.port)
        expect(yield* readSockopts(fd, "IPPROTO_IPV6:IPV6_V6ONLY", ...BUFFERS)).toEqual([
          ipv6Only ? 1 : 0,
          40960,
          73728
        ])
        yield* udp.close
      }
    }))

  it.live("E68 bad UDP options are InvalidArgumentError before any I/O", () =>
    Effect.gen(function*() {
      const create = (options: Datagram.UdpOptions) => Effect.scoped(Datagram.createUdpSocket(options))
      yield* expectInvalid(create({ family: "IPv4", ipv6Only: true }), "ipv6Only")
      yield* expectInvalid(create({ family: "IPv6", receiveBufferSize: 0 }), "receiveBufferSize")
      yield* expectInvalid(create({ family: "IPv6", sendBufferSize: Number.NaN }), "sendBufferSize")
    }))
})
