/**
 * UDP sockets of the Effect 4 edition (`effect-sockets/effect4`'s `Datagram.createUdpSocket`,
 * `Datagram.createConnectedUdpSocket`) on the driver both editions share: the acceptance
 * scenarios of test/udp.test.ts (conformance E61–E67, F69–F73, S15–S16) for IPv4 and IPv6,
 * against raw `node:dgram` peers and python3's `socket` module, plus the edition's own choice:
 * a stream pull takes every waiting datagram as one batch.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Queue, Result, Stream } from "effect"
import type { Duration, Scope } from "effect"
import * as dgram from "node:dgram"
import type { UdpSocket } from "../../src/effect4/Datagram/index.js"
import * as Datagram from "../../src/effect4/Datagram/index.js"
import { spawnPython } from "./helpers/python.js"

const families = [["v4", "127.0.0.1", "IPv4"], ["v6", "::1", "IPv6"]] as const
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()
const reversed = (s: string): string => [...s].reverse().join("")

/** Bounds `effect` in time, failing with a message naming `what`. */
const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string, duration: Duration.Input = "3 seconds") =>
  Effect.timeoutOrElse(effect, { duration, orElse: () => Effect.fail(new Error(`timed out: ${what}`)) })

/** Runs `effect` (scoped), which must fail with an error matching `expected`. */
const fails = <E>(effect: Effect.Effect<unknown, E, Scope.Scope>, expected: Record<string, unknown>) =>
  Effect.map(Effect.flip(Effect.scoped(effect)), (error) => void expect(error).toMatchObject(expected))

/** Starts `effect` on a child fiber that runs at once, up to its first suspension (a parked receive). */
const started = <A, E>(effect: Effect.Effect<A, E>) => Effect.forkChild(effect, { startImmediately: true })

/** One macrotask turn: lets libuv poll the sockets (and Node emit their datagrams). */
const nextTurn = Effect.callback<void>((resume) => void setImmediate(() => resume(Effect.void)))

/** A raw `node:dgram` peer bound to `host` (port 0 unless given), recording what it receives. */
const rawUdp = (host: string, port = 0) =>
  Effect.gen(function*() {
    const inbox = yield* Queue.unbounded<readonly [string, dgram.RemoteInfo]>()
    const socket = yield* Effect.acquireRelease(
      Effect.callback<dgram.Socket, Error>((resume) => {
        const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4")
        socket.once("error", (error) => resume(Effect.fail(error)))
        socket.bind(port, host, () => {
          socket.removeAllListeners("error").on("error", () => {})
          resume(Effect.succeed(socket))
        })
      }),
      (socket) => Effect.callback<void>((resume) => void socket.close(() => resume(Effect.void)))
    )
    socket.on("message", (payload, info) => Queue.offerUnsafe(inbox, [payload.toString(), info] as const))
    return {
      socket,
      port: socket.address().port,
      send: (payload: string, toPort: number, toHost = host) =>
        Effect.callback<void, Error>((resume) =>
          socket.send(payload, toPort, toHost, (error) => resume(error ? Effect.fail(error) : Effect.void))
        ),
      receive: within(Queue.take(inbox), "a datagram at the raw peer")
    }
  })

/** A port nothing is bound to (bound on `host` a moment ago and released). */
const closedPort = (host: string) => Effect.scoped(Effect.map(rawUdp(host), (peer) => peer.port))

/** The next datagram of `socket`, as text, bounded. */
const receiveText = (socket: UdpSocket) =>
  Effect.map(within(socket.receive, "a datagram"), ([payload, from]) => [text(payload), from] as const)

/** The next datagram's text, or undefined when none comes within 500 ms. */
const drainOne = (socket: UdpSocket) =>
  Effect.map(
    Effect.timeoutOption(socket.receive, "500 millis"),
    (o) => o._tag === "Some" ? text(o.value[0]) : undefined
  )

/** Polls `dropped` (every 5 ms, at most 5 s) until it reaches `expected`; returns the last value. */
const awaitDropped = (socket: { readonly dropped: Effect.Effect<number> }, expected: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    let dropped = yield* socket.dropped
    while (dropped < expected && Date.now() < deadline) {
      yield* Effect.sleep("5 millis")
      dropped = yield* socket.dropped
    }
    return dropped
  })

/** `count` numbered datagrams ("1".."count") from `peer` to `port`, paced so the kernel drops none. */
const flood = (peer: Effect.Success<ReturnType<typeof rawUdp>>, host: string, port: number, count: number) =>
  Effect.gen(function*() {
    for (let i = 1; i <= count; i += 20) {
      const batch = Array.from({ length: Math.min(20, count - i + 1) }, (_, k) => peer.send(String(i + k), port, host))
      yield* Effect.all(batch, { concurrency: "unbounded" })
      yield* nextTurn
      yield* nextTurn
    }
  })

/** python3 as the peer: "echo N" replies reversed to N datagrams; "client PORT" sends first. */
const pyPeer = `
import socket, sys
host, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.bind((host, 0))
print(s.getsockname()[1])
if mode == "client":
    s.sendto("héllo from python".encode(), (host, n))
    data, addr = s.recvfrom(65536)
    print(data.decode(), addr[1])
else:
    for _ in range(n):
        data, addr = s.recvfrom(65536)
        s.sendto(data[::-1], addr)
`

describe("UDP (Effect 4 edition)", () => {
  for (const [name, host, family] of families) {
    it.live(`E61 closing frees the port: an immediate rebind of the same port succeeds (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        for (let round = 0; round < 3; round++) {
          const udp = yield* Effect.scoped(Effect.gen(function*() {
            const udp = yield* Datagram.createUdpSocket({ localHost: host, localPort: port })
            yield* udp.close // explicit close, then the scope's (idempotent) one
            return udp
          }))
          expect(udp.attributes.localAddress.port).toBe(port)
          const remote = yield* closedPort(host)
          yield* Effect.scoped(Datagram.createConnectedUdpSocket(host, remote, { localHost: host, localPort: port }))
        }
      }))

    it.live(`E62/E67 attributes: bound host and port, or the wildcard address of a family (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        expect(udp.attributes.family).toBe(family)
        expect(udp.attributes.localAddress).toMatchObject({ _tag: "InetAddress", host })
        expect("remoteAddress" in udp.attributes).toBe(false)
        const peer = yield* rawUdp(host)
        yield* udp.sendto("who", host, peer.port)
        expect((yield* peer.receive)[1]).toMatchObject({ address: host, port: udp.attributes.localAddress.port })
        const wildcard = yield* Datagram.createUdpSocket({ family })
        expect(wildcard.attributes.localAddress.host).toBe(family === "IPv4" ? "0.0.0.0" : "::")
        yield* peer.send("reached", wildcard.attributes.localAddress.port)
        expect(yield* receiveText(wildcard)).toEqual(["reached", [host, peer.port]])
      }))

    it.live(`E63 sending to itself; a datagram to a closed port does not poison the socket (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        const own = udp.attributes.localAddress
        yield* udp.sendto("nobody", host, yield* closedPort(host))
        for (const payload of ["blah", "halb"]) {
          yield* udp.sendto(payload, own.host, own.port)
          expect(yield* receiveText(udp)).toEqual([payload, [host, own.port]])
        }
        yield* udp.sendto(new Uint8Array([0, 255, 1]), host, own.port)
        expect([...(yield* within(udp.receive, "bytes"))[0]]).toEqual([0, 255, 1])
      }))

    it.live(`E64/F71 echo via the stream, to unconnected and connected clients (${name})`, () =>
      Effect.gen(function*() {
        const server = yield* Datagram.createUdpSocket({ localHost: host })
        yield* Effect.forkScoped(server.stream.pipe(
          Stream.runForEach(([packet, [h, p]]) => server.sendto(reversed(text(packet)), h, p))
        ))
        const at = server.attributes.localAddress
        const client = yield* Datagram.createUdpSocket({ localHost: host })
        for (const [sent, expected] of [["FOOBAR", "RABOOF"], ["123456", "654321"]]) {
          yield* client.sendto(sent, at.host, at.port)
          expect(yield* receiveText(client)).toEqual([expected, [host, at.port]])
        }
        const connected = yield* Datagram.createConnectedUdpSocket(host, at.port)
        yield* connected.send("FOOBAR")
        yield* connected.send("123456")
        const got = yield* within(Stream.runCollect(Stream.take(connected.stream, 2)), "two replies")
        expect(got.map(text)).toEqual(["RABOOF", "654321"])
      }))

    it.live(`S15 localPort is honoured, and a second bind of it is AddressInUse (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const udp = yield* Datagram.createUdpSocket({ family, localPort: port })
        expect(udp.attributes.localAddress.port).toBe(port)
        const peer = yield* rawUdp(host)
        yield* peer.send("to P", port)
        expect(yield* receiveText(udp)).toEqual(["to P", [host, peer.port]])
        yield* fails(Datagram.createUdpSocket({ family, localPort: port }), {
          _tag: "ListenError",
          reason: "AddressInUse"
        })
      }))

    it.live(`F69/F70 a connected socket: attributes, and the kernel filters other senders (${name})`, () =>
      Effect.gen(function*() {
        const udp1 = yield* Datagram.createUdpSocket({ localHost: host })
        const udp2 = yield* Datagram.createConnectedUdpSocket(host, udp1.attributes.localAddress.port)
        expect(udp2.attributes.family).toBe(family)
        expect(udp2.attributes.remoteAddress).toEqual({
          _tag: "InetAddress",
          host,
          port: udp1.attributes.localAddress.port
        })
        const stranger = yield* rawUdp(host)
        yield* udp2.send("blah")
        const udp2Port = udp2.attributes.localAddress.port
        expect(yield* receiveText(udp1)).toEqual(["blah", [host, udp2Port]])
        yield* stranger.send("not from the peer", udp2Port)
        yield* udp1.sendto("halb", host, udp2Port)
        expect(text(yield* within(udp2.receive, "halb"))).toBe("halb")
      }))

    it.live(`python3 socket peer in both directions, unconnected and connected (${name})`, () =>
      Effect.gen(function*() {
        const echo = yield* spawnPython(pyPeer, [host, "echo", "2"])
        const echoPort = Number(yield* echo.line())
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        yield* udp.sendto("FOOBAR", host, echoPort)
        expect(yield* receiveText(udp)).toEqual(["RABOOF", [host, echoPort]])
        const connected = yield* Datagram.createConnectedUdpSocket(host, echoPort)
        yield* connected.send("123456")
        expect(text(yield* within(connected.receive, "echo"))).toBe("654321")
        yield* echo.done()
        const client = yield* spawnPython(pyPeer, [host, "client", String(udp.attributes.localAddress.port)])
        const pyPort = Number(yield* client.line())
        const [payload, [fromHost, fromPort]] = yield* receiveText(udp)
        expect([payload, fromHost, fromPort]).toEqual(["héllo from python", host, pyPort])
        yield* udp.sendto(`reply to ${payload}`, fromHost, fromPort)
        expect(yield* client.line()).toBe(`reply to héllo from python ${udp.attributes.localAddress.port}`)
      }))

    it.live(`connected: ICMP port unreachable is ConnectionRefused on the next receive, once (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const udp = yield* Datagram.createConnectedUdpSocket(host, port)
        yield* udp.send("into the void")
        yield* fails(within(udp.receive, "the ICMP error"), {
          _tag: "BrokenResourceError",
          reason: "ConnectionRefused"
        })
        const peer = yield* rawUdp(host, port)
        yield* udp.send("ping")
        const [payload, info] = yield* peer.receive
        expect(payload).toBe("ping")
        yield* peer.send("pong", info.port)
        expect(text(yield* within(udp.receive, "pong"))).toBe("pong")
      }))

    it.live(`connected: ICMP port unreachable is reported by the next send, once (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const udp = yield* Datagram.createConnectedUdpSocket(host, port)
        let failure: unknown = undefined
        for (let i = 0; i < 200 && failure === undefined; i++) {
          const result = yield* Effect.result(udp.send(`probe ${i}`))
          if (Result.isFailure(result)) failure = result.failure
          else yield* Effect.sleep("10 millis")
        }
        expect(failure).toMatchObject({ _tag: "BrokenResourceError", reason: "ConnectionRefused", operation: "send" })
        const peer = yield* rawUdp(host, port)
        yield* udp.send("alive")
        expect((yield* peer.receive)[0]).toBe("alive")
      }))

    it.live(`an interrupted receive loses no datagram; 200 racing rounds keep every datagram once, in order (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        const peer = yield* rawUdp(host)
        const port = udp.attributes.localAddress.port
        const blocked = yield* started(udp.receive)
        yield* Fiber.interrupt(blocked)
        // the interrupted receive left the wait: a new one is not busy, and gets the datagram
        yield* peer.send("after", port)
        expect(yield* receiveText(udp)).toEqual(["after", [host, peer.port]])

        const got: Array<string> = []
        for (let i = 0; i < 200; i++) {
          const receiving = yield* Effect.forkChild(udp.receive)
          const sending = yield* Effect.forkChild(peer.send(String(i), port))
          if (i % 3 === 1) yield* nextTurn
          for (let k = 0; k < i % 5; k++) yield* Effect.yieldNow
          yield* Fiber.interrupt(receiving)
          const exit = yield* Fiber.await(receiving)
          if (Exit.isSuccess(exit)) got.push(text(exit.value[0]))
          yield* Fiber.join(sending)
        }
        for (let more = yield* drainOne(udp); more !== undefined; more = yield* drainOne(udp)) got.push(more)
        expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
        expect(yield* udp.dropped).toBe(0)
      }))
  }

  it.live("S15 neither family nor localHost is an argument error; bad ports and hosts too", () =>
    Effect.gen(function*() {
      yield* fails(Datagram.createUdpSocket({}), { _tag: "InvalidArgumentError" })
      yield* fails(Datagram.createUdpSocket({ localPort: 5000 }), { _tag: "InvalidArgumentError" })
      for (const localPort of [-1, 65536, 1.5]) {
        yield* fails(Datagram.createUdpSocket({ family: "IPv4", localPort }), {
          _tag: "InvalidArgumentError",
          argument: "localPort"
        })
      }
      yield* fails(Datagram.createUdpSocket({ family: "IPv4", receiveQueueSize: 0 }), { _tag: "InvalidArgumentError" })
      yield* fails(Datagram.createUdpSocket({ family: "IPv4", ipv6Only: true }), {
        _tag: "InvalidArgumentError",
        argument: "ipv6Only"
      })
      yield* fails(Datagram.createConnectedUdpSocket("127.0.0.1", 0), { _tag: "InvalidArgumentError" })
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4" })
      yield* fails(udp.sendto("x", "127.0.0.1", 0), { _tag: "InvalidArgumentError" })
      yield* fails(udp.sendto("x", "", 53), { _tag: "InvalidArgumentError" })
      yield* fails(udp.sendto({} as unknown as string, "127.0.0.1", 9), { _tag: "InvalidArgumentError" })
    }))

  it.live("S16 overflow: 150 datagrams into a queue of 100 keep the newest 100, in order, and count 50 dropped", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1", receiveQueueSize: 100 })
      const peer = yield* rawUdp("127.0.0.1")
      yield* flood(peer, "127.0.0.1", udp.attributes.localAddress.port, 150)
      expect(yield* awaitDropped(udp, 50)).toBe(50)
      const got: Array<string> = []
      for (let i = 0; i < 100; i++) got.push((yield* receiveText(udp))[0])
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => String(51 + i)))
      yield* peer.send("fresh", udp.attributes.localAddress.port)
      expect((yield* receiveText(udp))[0]).toBe("fresh")
    }))

  it.live("the stream pulls every waiting datagram as one batch, in order, and ends when the socket closes", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
      const peer = yield* rawUdp("127.0.0.1")
      yield* flood(peer, "127.0.0.1", udp.attributes.localAddress.port, 40)
      // all 40 are queued before anyone pulls: the first pull takes them at once
      const batches = yield* Queue.unbounded<ReadonlyArray<string>>()
      const running = yield* Effect.forkChild(
        udp.stream.pipe(
          Stream.map(([payload]) => text(payload)),
          Stream.runForEachArray((batch) => Queue.offer(batches, batch))
        )
      )
      expect(yield* within(Queue.take(batches), "the first batch")).toEqual(
        Array.from({ length: 40 }, (_, i) => String(i + 1))
      )
      yield* peer.send("alone", udp.attributes.localAddress.port)
      expect(yield* within(Queue.take(batches), "the next batch")).toEqual(["alone"])
      yield* udp.close
      const exit = yield* within(Fiber.await(running), "the stream's end")
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.live("E66/F73 busy, close during receive, receive and send after close", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
      const first = yield* started(udp.receive)
      const busy = yield* Effect.flip(udp.receive)
      expect(busy).toMatchObject({ _tag: "BusyResourceError", operation: "reading from" })
      expect(busy.message).toContain("already reading from")
      yield* udp.close
      yield* fails(within(Fiber.join(first), "the blocked receive"), { _tag: "ClosedResourceError" })
      yield* fails(udp.receive, { _tag: "ClosedResourceError" })
      yield* fails(udp.sendto("x", "127.0.0.1", 9), { _tag: "ClosedResourceError" })
      yield* fails(udp.setBroadcast(true), { _tag: "ClosedResourceError" })
      yield* udp.close // idempotent

      const peer = yield* rawUdp("::1")
      const connected = yield* Datagram.createConnectedUdpSocket("::1", peer.port)
      const waiting = yield* started(connected.receive)
      yield* fails(connected.receive, { _tag: "BusyResourceError" })
      yield* Effect.forkChild(connected.close)
      yield* fails(within(Fiber.join(waiting), "the blocked receive"), { _tag: "ClosedResourceError" })
      yield* fails(connected.send("x"), { _tag: "ClosedResourceError" })
    }))

  it.live("broadcast, TTL and multicast setters; multicast on the loopback interface", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4" })
      yield* Effect.all([udp.setBroadcast(true), udp.setBroadcast(false), udp.setTtl(64), udp.setMulticastTtl(1)])
      yield* udp.setMulticastLoopback(true)
      for (const bad of [0, 256, -1]) yield* fails(udp.setTtl(bad), { _tag: "InvalidArgumentError" })
      yield* fails(udp.joinMulticast("not-an-ip"), { _tag: "InvalidArgumentError" })
      yield* udp.setMulticastInterface("127.0.0.1")
      for (const bad of ["::1", "not an address", ""]) {
        yield* fails(udp.setMulticastInterface(bad), { _tag: "InvalidArgumentError", argument: "interfaceAddress" })
      }
      yield* fails(udp.setMulticastInterface("192.0.2.1"), {
        _tag: "BrokenResourceError",
        reason: "AddressNotAvailable"
      })
      const group = "239.255.0.1"
      const joined = yield* Effect.result(udp.joinMulticast(group, "127.0.0.1"))
      if (Result.isFailure(joined)) {
        // The kernel here refuses multicast on loopback: the refusal is typed; no traffic part.
        expect(joined.failure._tag).toBe("BrokenResourceError")
        return
      }
      yield* fails(udp.joinMulticast(group, "127.0.0.1"), { _tag: "BrokenResourceError", reason: "AddressInUse" })
      const sender = yield* rawUdp("127.0.0.1")
      sender.socket.setMulticastInterface("127.0.0.1")
      sender.socket.setMulticastTTL(1)
      sender.socket.setMulticastLoopback(true)
      yield* sender.send("to the group", udp.attributes.localAddress.port, group)
      expect(yield* receiveText(udp)).toEqual(["to the group", ["127.0.0.1", sender.port]])
    }))

  it.live("payload limits (IPv6 65,527, IPv4 65,507) and a connect that cannot succeed is a ConnectError", () =>
    Effect.gen(function*() {
      const receiver = yield* Datagram.createUdpSocket({ localHost: "::1" })
      const sender = yield* Datagram.createUdpSocket({ localHost: "::1" })
      const port = receiver.attributes.localAddress.port
      yield* sender.sendto(new Uint8Array(65_527).fill(7), "::1", port)
      expect((yield* within(receiver.receive, "the largest IPv6 datagram"))[0].length).toBe(65_527)
      yield* fails(sender.sendto(new Uint8Array(65_528), "::1", port), {
        _tag: "BrokenResourceError",
        reason: "MessageTooLong"
      })
      const v4 = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
      yield* fails(v4.sendto(new Uint8Array(65_508), "127.0.0.1", 9), {
        _tag: "BrokenResourceError",
        reason: "MessageTooLong"
      })
      // an IPv4 socket cannot reach an IPv6 destination: that sendto fails alone
      yield* fails(v4.sendto("wrong family", "::1", port), { _tag: "BrokenResourceError", operation: "send" })
      const error = yield* Effect.flip(
        Effect.scoped(Datagram.createConnectedUdpSocket("::1", 9, { localHost: "127.0.0.1" }))
      )
      expect(error).toMatchObject({ _tag: "ConnectError", host: "::1", port: 9 })
    }))
})
