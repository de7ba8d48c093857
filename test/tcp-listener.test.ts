/**
 * TCP listeners: conformance section B (scenarios B28–B41) against raw `node:net` peers.
 * Every address used is loopback, except B36, which only binds (never connects to) a
 * link-local address when the machine has one.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import * as dns from "node:dns"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import type { ByteStream, InetAddress, SocketAddress } from "../src/ByteStream.js"
import { Listener, NetError } from "../src/index.js"
import type { TcpListenerOptions } from "../src/Listener/Tcp.js"
import type { TcpStream } from "../src/Socket/Tcp.js"
import { bindRawServer, connectRaw } from "./helpers/resources.js"

// ---------------------------------------------------------------------------------------------
// Helpers

type TcpListener = Listener.Listener<TcpStream>

const inet = (address: SocketAddress | undefined): InetAddress => {
  if (address?._tag !== "InetAddress") throw new Error(`not an InetAddress: ${JSON.stringify(address)}`)
  return address
}

const portsOf = (listener: TcpListener): Array<number> => listener.addresses.map((a) => inet(a).port)
const hostsOf = (listener: TcpListener): Array<string> => listener.addresses.map((a) => inet(a).host)

/** Where a raw client reaches a bound address: wildcards are replaced by loopback. */
const loopbackFor = (host: string): string => (host === "::" ? "::1" : host === "0.0.0.0" ? "127.0.0.1" : host)

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8")

/** A port free on every address (found by binding the dual-stack wildcard, then closing it). */
const freePort = Effect.scoped(Effect.map(Listener.createTcpListener(), (listener) => portsOf(listener)[0]!))

/** The unique addresses the system resolver gives for `host`. */
const resolveAll = (host: string, family: 0 | 4 | 6 = 0) =>
  Effect.promise(() => dns.promises.lookup(host, { all: true, verbatim: true, family })).pipe(
    Effect.map((answers) => [...new Set(answers.map((a) => a.address))])
  )

/**
 * AnyIO's raw-client round trip: the peer connects and sends "blah"; `accept` gives a stream
 * that receives it; "halb" sent back reaches the peer. Returns the accepted stream.
 */
const acceptRoundTrip = (listener: TcpListener, host: string, port: number) =>
  Effect.gen(function*() {
    const peer = yield* connectRaw(host, port)
    yield* peer.write("blah")
    const stream = yield* listener.accept
    expect(text(yield* stream.receive())).toBe("blah")
    yield* stream.send("halb")
    expect((yield* peer.receiveAtLeast(4)).toString()).toBe("halb")
    return { stream, peer }
  })

/**
 * Makes the system resolver answer `addresses` for `name` (for as long as the scope lives), so
 * a name that resolves to several loopback addresses exists on a machine where `localhost` does
 * not. Node's `dns.lookup` is patched on the CommonJS module and pushed to the ESM bindings.
 */
const stubResolver = (name: string, addresses: ReadonlyArray<string>) => {
  const dnsCjs = createRequire(import.meta.url)("node:dns") as { lookup: (...args: Array<any>) => void }
  return Effect.acquireRelease(
    Effect.sync(() => {
      const original = dnsCjs.lookup
      dnsCjs.lookup = (host: string, options: { family?: number }, callback: (...args: Array<unknown>) => void) => {
        if (host !== name) return original(host, options, callback)
        const answers = addresses
          .map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }))
          .filter((a) => !options.family || a.family === options.family)
        process.nextTick(callback, null, answers)
      }
      syncBuiltinESMExports()
      return original
    }),
    (original) =>
      Effect.sync(() => {
        dnsCjs.lookup = original
        syncBuiltinESMExports()
      })
  )
}
const DUAL_NAME = "dual-loopback.test"

const nodeSupportsReusePort = (() => {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
})()

const linkLocal = Object.entries(os.networkInterfaces())
  .flatMap(([name, infos]) => (infos ?? []).map((info) => ({ name, info })))
  .find(({ info }) => info.family === "IPv6" && info.address.toLowerCase().startsWith("fe80:"))

const families = [
  { name: "IPv4", host: "127.0.0.1", family: "IPv4" },
  { name: "IPv6", host: "::1", family: "IPv6" }
] as const

// ---------------------------------------------------------------------------------------------

describe("B: TCP listeners", () => {
  for (const { name, host, family } of families) {
    it.scopedLive(`B28 listener attributes (${name})`, () =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: host })
        expect(listener.addresses).toHaveLength(1)
        const bound = inet(listener.addresses[0])
        expect(bound).toEqual({ _tag: "InetAddress", host, port: expect.any(Number) })
        expect(bound.port).toBeGreaterThan(0)
        // A listener has no remote end: the attribute simply does not exist.
        expect("remoteAddress" in listener).toBe(false)
        // The reported address is the socket's: an accepted stream's local end is exactly it.
        const { stream, peer } = yield* acceptRoundTrip(listener, host, bound.port)
        expect(stream.attributes.localAddress).toEqual(bound)
        expect(stream.attributes.remoteAddress).toEqual({
          _tag: "InetAddress",
          host,
          port: peer.socket.localPort
        })
        expect(stream.attributes.family).toBe(family)
      }))

    it.scopedLive(`B29 accept round trip (${name})`, () =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: host })
        yield* acceptRoundTrip(listener, host, portsOf(listener)[0]!)
      }))

    // B31. SO_REUSEADDR and TCP_NODELAY cannot be read back from Node (no getsockopt), nor can
    // SO_RCVBUF be set on the raw listening socket (Node does not expose it). What is
    // observable: accepted streams work and have the listener's family (here), and the effect of
    // SO_REUSEADDR (the TIME_WAIT rebind test below).
    it.scopedLive(`B31 accepted streams work and have the listener's family (${name})`, () =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: host })
        for (let i = 0; i < 3; i++) {
          const { stream } = yield* acceptRoundTrip(listener, host, portsOf(listener)[0]!)
          expect(stream.attributes.family).toBe(family)
          expect(net.isIP(inet(stream.attributes.remoteAddress).host)).toBe(family === "IPv4" ? 4 : 6)
        }
      }))
  }

  it.scopedLive("B29 accept round trip (any family: dual stack, reached over IPv4 and IPv6)", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener()
      for (const address of listener.addresses.map(inet)) {
        // The wildcard accepts both families: IPv4 peers arrive as IPv4-mapped addresses.
        const targets = address.host === "::" ? ["::1", "127.0.0.1"] : [loopbackFor(address.host)]
        for (const target of targets) yield* acceptRoundTrip(listener, target, address.port)
      }
    }))

  it.scopedLive("B30 accept after close fails with ClosedResourceError", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      yield* listener.close
      yield* listener.close // idempotent
      const error = yield* Effect.flip(listener.acceptUnscoped)
      expect(error).toBeInstanceOf(NetError.ClosedResourceError)
    }))

  it.scopedLive("B30 an accept waiting when the listener closes fails with ClosedResourceError", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const waiting = yield* Effect.fork(Effect.flip(listener.acceptUnscoped))
      yield* Effect.sleep("50 millis")
      yield* listener.close
      const error = yield* Fiber.join(waiting).pipe(Effect.timeout("2 seconds"))
      expect(error).toBeInstanceOf(NetError.ClosedResourceError)
    }))

  it.scopedLive("B31 SO_REUSEADDR in effect: the port rebinds while a closed connection is in TIME_WAIT", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
        const port = portsOf(listener)[0]!
        const { stream, peer } = yield* acceptRoundTrip(listener, "127.0.0.1", port)
        // The server closes first, so the server's end of the connection enters TIME_WAIT.
        yield* stream.close
        yield* peer.awaitEnd()
        peer.socket.destroy()
        return port
      }))
      const again = yield* Listener.createTcpListener({ localHost: "127.0.0.1", localPort: port })
      expect(portsOf(again)).toEqual([port])
    }))

  it.scopedLive.skipIf(nodeSupportsReusePort)(
    `B32 reusePort fails with UnsupportedError on Node ${process.versions.node} (needs 22.12+)`,
    () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Listener.createTcpListener({ localHost: "127.0.0.1", reusePort: true }))
        expect(error).toBeInstanceOf(NetError.UnsupportedError)
        expect(error).toMatchObject({ _tag: "UnsupportedError", operation: "reusePort" })
        expect(error.message).toContain(process.versions.node)
      })
  )

  it.scopedLive.skipIf(!nodeSupportsReusePort)(
    "B32 reusePort: two listeners share one address",
    () =>
      Effect.gen(function*() {
        const first = yield* Listener.createTcpListener({ localHost: "127.0.0.1", reusePort: true })
        const port = portsOf(first)[0]!
        const second = yield* Listener.createTcpListener({ localHost: "127.0.0.1", localPort: port, reusePort: true })
        expect(second.addresses).toEqual(first.addresses)
      })
  )

  it.scopedLive("B33 closing the listener while it serves makes serve fail with ClosedResourceError", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const served = yield* Deferred.make<void>()
      const serving = yield* Effect.fork(listener.serve(() => Deferred.succeed(served, undefined)))
      // Serve one connection first, so `serve` is known to be running (and accepting again).
      yield* connectRaw("127.0.0.1", portsOf(listener)[0]!)
      yield* Deferred.await(served).pipe(Effect.timeout("2 seconds"))
      yield* listener.close
      const exit = yield* Fiber.await(serving).pipe(Effect.timeout("2 seconds"))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(exit)
      expect(error).toBeInstanceOf(NetError.ClosedResourceError)
    }))

  if (linkLocal === undefined) {
    it.skip("B36 link-local IPv6 bind: skipped, no link-local interface (loopback-only machine)", () => {})
  } else {
    const host = `${linkLocal.info.address}%${linkLocal.name}`
    it.scopedLive(`B36 link-local IPv6 bind with a scope (${host})`, () =>
      Effect.gen(function*() {
        // Bind only: nothing connects to (or sends from) this non-loopback address.
        const listener = yield* Listener.createTcpListener({ localHost: host })
        expect(listener.addresses).toHaveLength(1)
        expect(hostsOf(listener)[0]!.toLowerCase()).toMatch(/^fe80:/)
        expect(portsOf(listener)[0]).toBeGreaterThan(0)
      }))
  }

  // B37 (adopting an already bound/listening socket: `SocketListener.from_socket`) is not
  // applicable: effect-sockets has no adoption API yet.
  // B37 adopting a listening socket: test/adopt.test.ts (Listener.fromFd)

  // B39 needs "no dual stack" forced by fault injection, which we do not have. (Where the
  // system has no IPv6, the port binds 0.0.0.0 alone: one listener, not AnyIO's two.)
  it.skip("B39 dual stack unavailable: not testable without fault injection", () => {})
})

// B34, B35 on the Listener service, as an application would use it.
layer(Listener.layerTcp({ localHost: "127.0.0.1" }), { excludeTestServices: true })(
  "B: serving a Listener layer",
  (it) => {
    const servePort = <E>(handler: (stream: ByteStream) => Effect.Effect<unknown, E>) =>
      Effect.gen(function*() {
        const listener = yield* Listener.Listener
        yield* Effect.forkScoped(Listener.serve(handler))
        return inet(listener.addresses[0]).port
      })

    it.scoped("B34 sending to a half-closed client", () =>
      Effect.gen(function*() {
        const port = yield* servePort((stream) =>
          Effect.gen(function*() {
            // The client's EOF arrives first: the stream is half closed when we send.
            yield* Effect.flip(stream.receive())
            yield* stream.send("Hello\n")
          })
        )
        const peer = yield* connectRaw("127.0.0.1", port)
        peer.socket.end()
        const data = yield* peer.receiveAtLeast(6, "1 second")
        expect(data.toString()).toBe("Hello\n")
      }))

    it.scoped("B35 EOF right after data", () =>
      Effect.gen(function*() {
        const outcome = yield* Deferred.make<{ first: string; second: unknown; millis: number }>()
        const port = yield* servePort((stream) =>
          Effect.gen(function*() {
            const first = text(yield* stream.receive())
            const started = Date.now()
            const second = yield* Effect.flip(stream.receive())
            yield* Deferred.succeed(outcome, { first, second, millis: Date.now() - started })
          })
        )
        const peer = yield* connectRaw("127.0.0.1", port)
        peer.socket.end("Hello")
        const { first, second, millis } = yield* Deferred.await(outcome).pipe(Effect.timeout("2 seconds"))
        expect(first).toBe("Hello")
        expect(second).toBeInstanceOf(NetError.EndOfStream)
        expect(millis).toBeLessThan(1000)
      }))
  }
)

describe("B38–B40 listener count and one shared port", () => {
  const rows: ReadonlyArray<{
    readonly options: TcpListenerOptions
    readonly hosts: Effect.Effect<Array<string>>
  }> = [
    // Dual stack is available here (the machine has IPv6): one listener on `::`.
    { options: {}, hosts: Effect.succeed(["::"]) },
    // AnyIO expects 2 where localhost resolves to both families; on this machine it may resolve
    // to 127.0.0.1 only, so the expected listeners are what the resolver answers.
    { options: { localHost: "localhost" }, hosts: resolveAll("localhost") },
    { options: { localHost: "localhost", family: "IPv4" }, hosts: Effect.succeed(["127.0.0.1"]) },
    { options: { localHost: "::" }, hosts: Effect.succeed(["::"]) },
    { options: { localHost: "127.0.0.1", family: "IPv4" }, hosts: Effect.succeed(["127.0.0.1"]) },
    { options: { localHost: "::1", family: "IPv6" }, hosts: Effect.succeed(["::1"]) }
  ]

  const check = (options: TcpListenerOptions, expectedHosts: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const anyPort = yield* Effect.scoped(Listener.createTcpListener(options))
      expect([...hostsOf(anyPort)].sort()).toEqual([...expectedHosts].sort())
      const [port] = portsOf(anyPort)
      expect(port).toBeGreaterThan(0)
      expect(portsOf(anyPort)).toEqual(expectedHosts.map(() => port))

      const chosen = yield* freePort
      const explicit = yield* Effect.scoped(Listener.createTcpListener({ ...options, localPort: chosen }))
      expect(portsOf(explicit)).toEqual(expectedHosts.map(() => chosen))
    })

  for (const { options, hosts } of rows) {
    const label = `host ${options.localHost ?? "none"}, family ${options.family ?? "any"}`
    it.live(`B38 ${label}: every address, one port; an explicit free port is honoured`, () =>
      Effect.flatMap(hosts, (expected) => check(options, expected)))
  }

  it.scopedLive("B38 a name resolving to both families (resolver stub): 2 listeners on one port", () =>
    Effect.gen(function*() {
      yield* stubResolver(DUAL_NAME, ["127.0.0.1", "::1"])
      yield* check({ localHost: DUAL_NAME }, ["127.0.0.1", "::1"])
      yield* check({ localHost: DUAL_NAME, family: "IPv6" }, ["::1"])
      // Each of them accepts.
      const listener = yield* Listener.createTcpListener({ localHost: DUAL_NAME })
      for (const address of listener.addresses.map(inet)) yield* acceptRoundTrip(listener, address.host, address.port)
    }))

  // B40: the collision itself (a port picked on the first address is taken on the next) cannot
  // be forced without fault injection in bind, so the retry branch is not exercised. What runs
  // for real: port 0 over two addresses always ends with one shared port.
  it.scopedLive("B40 port 0 over two addresses gives one shared port (retry branch not forceable)", () =>
    Effect.gen(function*() {
      yield* stubResolver(DUAL_NAME, ["127.0.0.1", "::1"])
      for (let i = 0; i < 10; i++) {
        const ports = yield* Effect.scoped(Effect.map(Listener.createTcpListener({ localHost: DUAL_NAME }), portsOf))
        expect(ports).toHaveLength(2)
        expect(ports[1]).toBe(ports[0])
      }
    }))
})

// B41 as AnyIO states it (every bind after the first fails, "Could not create 2 listeners with a
// consistent port", our ListenError reason "InconsistentPort") needs fault injection in bind
// and is not tested. What runs for real: an explicit port already in use.
describe("B41 an explicit port already in use", () => {
  const expectAddressInUse = (error: unknown, port: number) => {
    expect(error).toBeInstanceOf(NetError.ListenError)
    const listenError = error as NetError.ListenError
    expect(listenError.reason).toBe("AddressInUse")
    expect(listenError.address).toContain(String(port))
    expect((listenError.cause as { code?: string }).code).toBe("EADDRINUSE")
  }

  it.scopedLive("B41 one address: ListenError AddressInUse", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* bindRawServer("127.0.0.1", port)
      const error = yield* Effect.flip(Listener.createTcpListener({ localHost: "127.0.0.1", localPort: port }))
      expectAddressInUse(error, port)
    }))

  it.scopedLive("B41 two addresses, the second in use: AddressInUse and the first is released", () =>
    Effect.gen(function*() {
      yield* stubResolver(DUAL_NAME, ["127.0.0.1", "::1"])
      const port = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        yield* bindRawServer("::1", port)
        const error = yield* Effect.flip(Listener.createTcpListener({ localHost: DUAL_NAME, localPort: port }))
        expectAddressInUse(error, port)
      }))
      // Nothing of the failed listener stays bound: the first address is free again.
      yield* bindRawServer("127.0.0.1", port)
    }))
})
