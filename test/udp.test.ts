/**
 * UDP sockets (`Datagram.createUdpSocket`, `Datagram.createConnectedUdpSocket`): conformance
 * E61–E67, F69–F73 and decision S15–S16 of `reference/conformance.md`, for IPv4 and IPv6, against
 * raw `node:dgram` peers and python3's `socket` module; ICMP errors on connected sockets,
 * interrupted receives, the bounded receive queue, broadcast and multicast (loopback only).
 *
 * Not applicable: E68 and F73's adoption part (no API adopts an existing socket). E65/F72
 * (`reusePort`) need Node 22.12+: on older Node the option must fail with UnsupportedError.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Queue, Stream } from "effect"
import type { Duration, Scope } from "effect"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import type { UdpSocket } from "../src/Datagram/index.js"
import { Datagram } from "../src/index.js"
import { spawnPython } from "./helpers/python.js"
import { awaitSuspended } from "./helpers/rawPeers.js"

const families = [["v4", "127.0.0.1", "IPv4"], ["v6", "::1", "IPv6"]] as const
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()
const reversed = (s: string): string => [...s].reverse().join("")
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
const reusePortSupported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)

/** Bounds `effect` in time, failing with a message naming `what`. */
const within = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  what: string,
  duration: Duration.DurationInput = "3 seconds"
) => Effect.timeoutFail(effect, { duration, onTimeout: () => new Error(`timed out: ${what}`) })

/** Runs `effect` (scoped), which must fail with an error matching `expected`. */
const fails = <E>(effect: Effect.Effect<unknown, E, Scope.Scope>, expected: Record<string, unknown>) =>
  Effect.map(Effect.flip(Effect.scoped(effect)), (error) => void expect(error).toMatchObject(expected))

/** One macrotask turn: lets libuv poll the sockets (and Node emit their datagrams). */
const nextTurn = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))

/** A raw `node:dgram` peer bound to `host` (port 0 unless given), recording what it receives. */
const rawUdp = (host: string, port = 0) =>
  Effect.gen(function*() {
    const inbox = yield* Queue.unbounded<readonly [string, dgram.RemoteInfo]>()
    const socket = yield* Effect.acquireRelease(
      Effect.async<dgram.Socket, Error>((resume) => {
        const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4")
        socket.once("error", (error) => resume(Effect.fail(error)))
        socket.bind(port, host, () => {
          socket.removeAllListeners("error").on("error", () => {})
          resume(Effect.succeed(socket))
        })
      }),
      (socket) => Effect.async<void>((resume) => void socket.close(() => resume(Effect.void)))
    )
    socket.on("message", (payload, info) => Queue.unsafeOffer(inbox, [payload.toString(), info] as const))
    return {
      socket,
      port: socket.address().port,
      send: (payload: string, toPort: number, toHost = host) =>
        Effect.async<void, Error>((resume) =>
          socket.send(payload, toPort, toHost, (error) => resume(error ? Effect.fail(error) : Effect.void))
        ),
      receive: within(Queue.take(inbox), "a datagram at the raw peer")
    }
  })
type RawUdp = Effect.Effect.Success<ReturnType<typeof rawUdp>>

/** A port nothing is bound to (bound on `host` a moment ago and released). */
const closedPort = (host: string) => Effect.scoped(Effect.map(rawUdp(host), (peer) => peer.port))

/** The next datagram of `socket`, as text, bounded. */
const receiveText = (socket: UdpSocket) =>
  Effect.map(within(socket.receive, "a datagram"), ([payload, from]) => [text(payload), from] as const)

/** The next datagram's text, or undefined when none comes within 500 ms. */
const drainOne = (socket: UdpSocket) =>
  Effect.map(Effect.timeout(socket.receive, "500 millis"), ([payload]) => text(payload)).pipe(
    Effect.catchTag("TimeoutException", () => Effect.succeed(undefined))
  )

/** `count` numbered datagrams ("1".."count") from `peer` to `port`, paced so the kernel drops none. */
const flood = (peer: RawUdp, host: string, port: number, count: number) =>
  Effect.gen(function*() {
    for (let i = 1; i <= count; i += 20) {
      const batch = Array.from({ length: Math.min(20, count - i + 1) }, (_, k) => peer.send(String(i + k), port, host))
      yield* Effect.all(batch, { concurrency: "unbounded" })
      yield* nextTurn
      yield* nextTurn
    }
  })

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

describe("UDP", () => {
  for (const [name, host, family] of families) {
    it.scopedLive(`E61 closing frees the port: an immediate rebind of the same port succeeds (${name})`, () =>
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
          yield* Effect.scoped(Effect.gen(function*() {
            const connected = yield* Datagram.createConnectedUdpSocket(host, remote, {
              localHost: host,
              localPort: port
            })
            expect(connected.attributes.localAddress.port).toBe(port)
          }))
        }
      }))

    it.scopedLive(`E62 attributes of an unconnected socket (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        expect(udp.attributes.family).toBe(family)
        expect(udp.attributes.localAddress.host).toBe(host)
        expect(udp.attributes.localAddress.port).toBeGreaterThan(0)
        expect("remoteAddress" in udp.attributes).toBe(false)
        // the port as a raw peer sees it
        const peer = yield* rawUdp(host)
        yield* udp.sendto("who", host, peer.port)
        expect((yield* peer.receive)[1]).toMatchObject({ address: host, port: udp.attributes.localAddress.port })
      }))

    it.scopedLive(`E63 sending to itself; a datagram to a closed port does not poison the socket (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        const own = udp.attributes.localAddress
        yield* udp.sendto("nobody", host, yield* closedPort(host))
        for (const payload of ["blah", "halb"]) {
          yield* udp.sendto(payload, own.host, own.port)
          expect(yield* receiveText(udp)).toEqual([payload, [host, own.port]])
        }
        yield* udp.sendto(new Uint8Array([0, 255, 1]), host, own.port) // bytes arrive as they were
        expect([...(yield* within(udp.receive, "bytes"))[0]]).toEqual([0, 255, 1])
      }))

    it.scopedLive(`E64 echo via the socket's stream (${name})`, () =>
      Effect.gen(function*() {
        const server = yield* Datagram.createUdpSocket({ localHost: host })
        const client = yield* Datagram.createUdpSocket({ localHost: host })
        yield* Effect.forkScoped(server.stream.pipe(
          Stream.runForEach(([packet, [h, p]]) => server.sendto(reversed(text(packet)), h, p))
        ))
        const at = server.attributes.localAddress
        for (const [sent, expected] of [["FOOBAR", "RABOOF"], ["123456", "654321"]]) {
          yield* client.sendto(sent, at.host, at.port)
          expect(yield* receiveText(client)).toEqual([expected, [host, at.port]])
        }
      }))

    it.scopedLive(`E67 always bound: family only gives an ephemeral port on the wildcard address (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ family })
        expect(udp.attributes.family).toBe(family)
        expect(udp.attributes.localAddress.host).toBe(family === "IPv4" ? "0.0.0.0" : "::")
        expect(udp.attributes.localAddress.port).toBeGreaterThan(0)
        const peer = yield* rawUdp(host)
        yield* peer.send("reached", udp.attributes.localAddress.port)
        expect(yield* receiveText(udp)).toEqual(["reached", [host, peer.port]])
      }))

    it.scopedLive(`S15 localPort is honoured: port P is bound and a raw peer reaches it (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const udp = yield* Datagram.createUdpSocket({ family, localPort: port })
        expect(udp.attributes.localAddress.port).toBe(port)
        const peer = yield* rawUdp(host)
        yield* peer.send("to P", port)
        expect(yield* receiveText(udp)).toEqual(["to P", [host, peer.port]])
        // taken: a second bind of P is a typed ListenError
        yield* fails(Datagram.createUdpSocket({ family, localPort: port }), {
          _tag: "ListenError",
          reason: "AddressInUse"
        })
      }))

    it.scopedLive(`F69 attributes of a connected socket (${name})`, () =>
      Effect.gen(function*() {
        const peer = yield* rawUdp(host)
        const udp = yield* Datagram.createConnectedUdpSocket(host, peer.port)
        expect(udp.attributes.family).toBe(family)
        expect(udp.attributes.remoteAddress).toEqual({ _tag: "InetAddress", host, port: peer.port })
        expect(udp.attributes.localAddress.host).toBe(host)
        yield* udp.send("x")
        expect((yield* peer.receive)[1]).toMatchObject({ address: host, port: udp.attributes.localAddress.port })
        const named = yield* Datagram.createConnectedUdpSocket("localhost", 5000, { family: "IPv4" }) // /etc/hosts: v4 only
        expect(named.attributes.remoteAddress).toEqual({ _tag: "InetAddress", host: "127.0.0.1", port: 5000 })
      }))

    it.scopedLive(`F70 connected and unconnected sockets talking; the kernel filters other senders (${name})`, () =>
      Effect.gen(function*() {
        const udp1 = yield* Datagram.createUdpSocket({ localHost: host })
        const udp2 = yield* Datagram.createConnectedUdpSocket(host, udp1.attributes.localAddress.port)
        const stranger = yield* rawUdp(host)
        yield* udp2.send("blah")
        const udp2Port = udp2.attributes.localAddress.port
        expect(yield* receiveText(udp1)).toEqual(["blah", [host, udp2Port]])
        yield* stranger.send("not from the peer", udp2Port)
        yield* udp1.sendto("halb", host, udp2Port)
        expect(text(yield* within(udp2.receive, "halb"))).toBe("halb")
      }))

    it.scopedLive(`F71 echo via a connected socket's stream (${name})`, () =>
      Effect.gen(function*() {
        const server = yield* Datagram.createUdpSocket({ localHost: host })
        yield* Effect.forkScoped(server.stream.pipe(
          Stream.runForEach(([packet, [h, p]]) => server.sendto(reversed(text(packet)), h, p))
        ))
        const client = yield* Datagram.createConnectedUdpSocket(host, server.attributes.localAddress.port)
        yield* client.send("FOOBAR")
        yield* client.send("123456")
        const got = yield* within(Stream.runCollect(Stream.take(client.stream, 2)), "two replies")
        expect([...got].map(text)).toEqual(["RABOOF", "654321"])
      }))

    it.scopedLive(`E65/F72 reusePort (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const result = yield* Effect.either(
          Datagram.createUdpSocket({ localHost: host, localPort: port, reusePort: true })
        )
        if (!reusePortSupported) {
          // Node < 22.12 cannot set SO_REUSEPORT: a typed refusal, never a silent plain bind.
          expect(Either.isLeft(result) && result.left).toMatchObject({
            _tag: "UnsupportedError",
            operation: "reusePort"
          })
          return
        }
        const a = Either.getOrThrow(result)
        const b = yield* Datagram.createUdpSocket({ localHost: host, localPort: port, reusePort: true })
        expect(b.attributes.localAddress.port).toBe(a.attributes.localAddress.port)
        const c1 = yield* Datagram.createConnectedUdpSocket(host, 6000, {
          localHost: host,
          localPort: port,
          reusePort: true
        })
        const c2 = yield* Datagram.createConnectedUdpSocket(host, 6001, {
          localHost: host,
          localPort: port,
          reusePort: true
        })
        expect(c1.attributes.localAddress.port).toBe(c2.attributes.localAddress.port)
      }))

    it.scopedLive(`python3 socket peer in both directions, unconnected and connected (${name})`, () =>
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
        // python sends first, we reply to the address it came from
        const client = yield* spawnPython(pyPeer, [host, "client", String(udp.attributes.localAddress.port)])
        const pyPort = Number(yield* client.line())
        const [payload, [fromHost, fromPort]] = yield* receiveText(udp)
        expect([payload, fromHost, fromPort]).toEqual(["héllo from python", host, pyPort])
        yield* udp.sendto(`reply to ${payload}`, fromHost, fromPort)
        expect(yield* client.line()).toBe(`reply to héllo from python ${udp.attributes.localAddress.port}`)
      }))

    it.scopedLive(`connected: ICMP port unreachable is ConnectionRefused on the next receive, then the socket works (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const udp = yield* Datagram.createConnectedUdpSocket(host, port)
        yield* udp.send("into the void")
        // the kernel reports the ICMP asynchronously; it wakes the waiting receive
        yield* fails(within(udp.receive, "the ICMP error"), {
          _tag: "BrokenResourceError",
          reason: "ConnectionRefused"
        })
        // reported once: a peer now bound on that port gets our next datagram and its reply reaches us
        const peer = yield* rawUdp(host, port)
        yield* udp.send("ping")
        const [payload, info] = yield* peer.receive
        expect(payload).toBe("ping")
        yield* peer.send("pong", info.port)
        expect(text(yield* within(udp.receive, "pong"))).toBe("pong")
      }))

    it.scopedLive(`connected: ICMP port unreachable is reported by the next send, once (${name})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort(host)
        const udp = yield* Datagram.createConnectedUdpSocket(host, port)
        // the ICMP comes asynchronously: probe (bounded) until a send reports it
        let failure: unknown = undefined
        for (let i = 0; i < 200 && failure === undefined; i++) {
          const result = yield* Effect.either(udp.send(`probe ${i}`))
          if (Either.isLeft(result)) failure = result.left
          else yield* Effect.sleep("10 millis")
        }
        expect(failure).toMatchObject({ _tag: "BrokenResourceError", reason: "ConnectionRefused", operation: "send" })
        const peer = yield* rawUdp(host, port)
        yield* udp.send("alive")
        expect((yield* peer.receive)[0]).toBe("alive")
      }))

    it.scopedLive(`an interrupted receive loses no datagram; 200 racing rounds keep every datagram once, in order (${name})`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: host })
        const peer = yield* rawUdp(host)
        const port = udp.attributes.localAddress.port
        const blocked = yield* Effect.fork(udp.receive)
        yield* awaitSuspended(blocked)
        yield* Fiber.interrupt(blocked)
        yield* peer.send("after", port)
        expect(yield* receiveText(udp)).toEqual(["after", [host, peer.port]])

        const got: Array<string> = []
        for (let i = 0; i < 200; i++) {
          const receiving = yield* Effect.fork(udp.receive)
          const sending = yield* Effect.fork(peer.send(String(i), port))
          if (i % 3 === 1) yield* nextTurn
          for (let k = 0; k < i % 5; k++) yield* Effect.yieldNow()
          const exit = yield* Fiber.interrupt(receiving)
          if (Exit.isSuccess(exit)) got.push(text(exit.value[0]))
          yield* Fiber.join(sending)
        }
        // the rest are still queued: drain them (bounded), then compare, so a loss shows which one
        for (let more = yield* drainOne(udp); more !== undefined; more = yield* drainOne(udp)) got.push(more)
        expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
        expect(yield* udp.dropped).toBe(0)
      }))
  }

  it.scopedLive("S15 neither family nor localHost is an argument error; bad ports and hosts too", () =>
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
      yield* fails(Datagram.createConnectedUdpSocket("127.0.0.1", 0), { _tag: "InvalidArgumentError" })
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4" })
      yield* fails(udp.sendto("x", "127.0.0.1", 0), { _tag: "InvalidArgumentError" })
      yield* fails(udp.sendto("x", "", 53), { _tag: "InvalidArgumentError" })
    }))

  it("S16 the default receive-queue bound, 1024, is documented in UdpOptions", () => {
    const source = fs.readFileSync(new URL("../src/Datagram/Udp.ts", import.meta.url), "utf8")
    const doc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly receiveQueueSize\?/.exec(source)
    expect(doc?.[1]).toMatch(/default 1024/)
  })

  for (const [queueSize, count] of [[100, 150], [undefined, 1100]] as const) {
    const bound = queueSize ?? 1024
    it.scopedLive(`S16 overflow: ${count} datagrams into a queue of ${queueSize ?? "default size"} keep the newest ${bound}, in order`, () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({
          localHost: "127.0.0.1",
          ...(queueSize ? { receiveQueueSize: queueSize } : {})
        })
        const peer = yield* rawUdp("127.0.0.1")
        yield* flood(peer, "127.0.0.1", udp.attributes.localAddress.port, count)
        expect(yield* awaitDropped(udp, count - bound)).toBe(count - bound)
        const got: Array<string> = []
        for (let i = 0; i < bound; i++) got.push((yield* receiveText(udp))[0])
        expect(got).toEqual(Array.from({ length: bound }, (_, i) => String(count - bound + 1 + i)))
        // the queue is now empty: the next datagram is a fresh one
        yield* peer.send("fresh", udp.attributes.localAddress.port)
        expect((yield* receiveText(udp))[0]).toBe("fresh")
        expect(yield* udp.dropped).toBe(count - bound)
      }))
  }

  it.scopedLive("E66 busy, close during receive, receive and sendto after close (unconnected)", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
      const first = yield* Effect.fork(udp.receive)
      yield* awaitSuspended(first)
      const busy = yield* Effect.flip(udp.receive)
      expect(busy).toMatchObject({ _tag: "BusyResourceError", operation: "reading from" })
      expect(busy.message).toContain("already reading from")
      yield* udp.close
      yield* fails(within(Fiber.join(first), "the blocked receive"), { _tag: "ClosedResourceError" })
      yield* fails(udp.receive, { _tag: "ClosedResourceError" })
      yield* fails(udp.sendto("x", "127.0.0.1", 9), { _tag: "ClosedResourceError" })
      yield* fails(udp.setBroadcast(true), { _tag: "ClosedResourceError" })
      yield* udp.close // idempotent
    }))

  it.scopedLive("F73 busy, close during receive, receive and send after close (connected)", () =>
    Effect.gen(function*() {
      const peer = yield* rawUdp("::1")
      const udp = yield* Datagram.createConnectedUdpSocket("::1", peer.port)
      const first = yield* Effect.fork(udp.receive)
      yield* awaitSuspended(first)
      yield* fails(udp.receive, { _tag: "BusyResourceError" })
      yield* Effect.fork(udp.close)
      yield* fails(within(Fiber.join(first), "the blocked receive"), { _tag: "ClosedResourceError" })
      yield* fails(udp.receive, { _tag: "ClosedResourceError" })
      yield* fails(udp.send("x"), { _tag: "ClosedResourceError" })
    }))

  it.scopedLive("stream yields datagrams with senders and ends when the socket is closed from another fiber", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
      const peer = yield* rawUdp("127.0.0.1")
      const seen = yield* Queue.unbounded<readonly [string, readonly [string, number]]>()
      const running = yield* Effect.fork(
        Stream.runForEach(udp.stream, ([payload, from]) => Queue.offer(seen, [text(payload), from] as const))
      )
      for (const payload of ["one", "two", "three"]) {
        yield* peer.send(payload, udp.attributes.localAddress.port)
        expect(yield* within(Queue.take(seen), payload)).toEqual([payload, ["127.0.0.1", peer.port]])
      }
      yield* awaitSuspended(running)
      yield* Effect.fork(udp.close)
      const exit = yield* within(Fiber.await(running), "the stream's end")
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.scopedLive("broadcast, TTL and multicast setters; multicast on the loopback interface", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4" })
      yield* Effect.all([udp.setBroadcast(true), udp.setBroadcast(false), udp.setTtl(64), udp.setMulticastTtl(1)])
      yield* udp.setMulticastLoopback(true)
      for (const bad of [0, 256, -1]) {
        yield* fails(udp.setTtl(bad), { _tag: "InvalidArgumentError" })
        if (bad !== 0) yield* fails(udp.setMulticastTtl(bad), { _tag: "InvalidArgumentError" })
      }
      const v6 = yield* Datagram.createUdpSocket({ family: "IPv6" })
      yield* Effect.all([v6.setMulticastTtl(2), v6.setMulticastLoopback(false)])
      yield* fails(v6.setTtl(300), { _tag: "InvalidArgumentError" })
      yield* fails(udp.joinMulticast("not-an-ip"), { _tag: "InvalidArgumentError" })

      const group = "239.255.0.1"
      const joined = yield* Effect.either(udp.joinMulticast(group, "127.0.0.1"))
      if (Either.isLeft(joined)) {
        // The kernel here refuses multicast on loopback: the refusal is typed; no traffic part.
        expect(joined.left._tag).toBe("BrokenResourceError")
        return
      }
      // joined twice is a typed error; leaving (closing the join's scope) lets a join succeed again
      yield* fails(udp.joinMulticast(group, "127.0.0.1"), { _tag: "BrokenResourceError", reason: "AddressInUse" })
      const other = "239.255.0.2"
      yield* Effect.scoped(udp.joinMulticast(other, "127.0.0.1"))
      yield* Effect.scoped(udp.joinMulticast(other, "127.0.0.1"))
      // traffic stays on lo: the raw sender's multicast interface is 127.0.0.1, TTL 1
      const sender = yield* rawUdp("127.0.0.1")
      sender.socket.setMulticastInterface("127.0.0.1")
      sender.socket.setMulticastTTL(1)
      sender.socket.setMulticastLoopback(true)
      yield* sender.send("to the group", udp.attributes.localAddress.port, group)
      expect(yield* receiveText(udp)).toEqual(["to the group", ["127.0.0.1", sender.port]])
    }))

  it.scopedLive("setMulticastInterface: loopback accepted (IPv4 address, IPv6 scope); malformed, foreign and closed are typed", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4" })
      yield* udp.setMulticastInterface("127.0.0.1")
      for (const bad of ["::1", "not an address", "127.0.0", "", 7 as unknown as string]) {
        yield* fails(udp.setMulticastInterface(bad), { _tag: "InvalidArgumentError", argument: "interfaceAddress" })
      }
      // a well-formed address no interface has: the OS refuses it
      yield* fails(udp.setMulticastInterface("192.0.2.1"), {
        _tag: "BrokenResourceError",
        reason: "AddressNotAvailable",
        operation: "setMulticastInterface"
      })
      const v6 = yield* Datagram.createUdpSocket({ family: "IPv6" })
      yield* v6.setMulticastInterface("::%lo")
      for (const bad of ["127.0.0.1", "::%", "not::an::address"]) {
        yield* fails(v6.setMulticastInterface(bad), { _tag: "InvalidArgumentError" })
      }
      yield* udp.close
      yield* fails(udp.setMulticastInterface("127.0.0.1"), {
        _tag: "ClosedResourceError",
        operation: "setMulticastInterface"
      })
    }))

  it.scopedLive("each send reports its own outcome: it completes after Node's callback, an error never lands on the next", () =>
    Effect.gen(function*() {
      const peer = yield* rawUdp("127.0.0.1")
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4", localHost: "127.0.0.1" })
      // an IPv4 socket cannot reach an IPv6 destination: that sendto fails, the next succeeds
      yield* fails(udp.sendto("wrong family", "::1", peer.port), { _tag: "BrokenResourceError", operation: "send" })
      yield* udp.sendto("next", "127.0.0.1", peer.port)
      expect((yield* peer.receive)[0]).toBe("next")
      // many sends at once: each completes with its own (successful) outcome, all arrive
      yield* Effect.all(Array.from({ length: 50 }, (_, i) => udp.sendto(`n${i}`, "127.0.0.1", peer.port)), {
        concurrency: "unbounded"
      })
      const got = new Set<string>()
      for (let i = 0; i < 50; i++) got.add((yield* peer.receive)[0])
      expect(got.size).toBe(50)
    }))
})

describe("UDP hardening (#12 items 16, 17)", () => {
  it.scopedLive("the IPv6 payload limit is 65,527 bytes (the length field excludes the 40-byte header), as raw node:dgram carries", () =>
    Effect.gen(function*() {
      const receiver = yield* Datagram.createUdpSocket({ localHost: "::1" })
      const sender = yield* Datagram.createUdpSocket({ localHost: "::1" })
      const port = receiver.attributes.localAddress.port
      yield* sender.sendto(new Uint8Array(65_527).fill(7), "::1", port)
      const [payload] = yield* within(receiver.receive, "the largest IPv6 datagram")
      expect(payload.length).toBe(65_527)
      const tooLong = yield* Effect.flip(sender.sendto(new Uint8Array(65_528), "::1", port))
      expect(tooLong).toMatchObject({ _tag: "BrokenResourceError", reason: "MessageTooLong" })
      // IPv4 keeps its own limit (65,507).
      const v4 = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
      const v4TooLong = yield* Effect.flip(v4.sendto(new Uint8Array(65_508), "127.0.0.1", 9))
      expect(v4TooLong).toMatchObject({ _tag: "BrokenResourceError", reason: "MessageTooLong" })
    }))

  it.scopedLive("a connect that cannot succeed (::1 from a socket bound to 127.0.0.1) fails creation with ConnectError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Datagram.createConnectedUdpSocket("::1", 9, { localHost: "127.0.0.1" }))
      )
      expect(error).toMatchObject({ _tag: "ConnectError", host: "::1", port: 9 })
      expect(error.message).toContain("::1")
    }))
})
