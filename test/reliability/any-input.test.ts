/**
 * No defect from any input (hardening issue, "the class behind them"): fast-check calls every
 * public constructor and operation with arbitrary values for every argument — wrong types, NaN,
 * huge and negative numbers, odd strings, empty and over-long paths, strange byte arrays, and
 * arbitrary option objects. Every outcome must be a success or a typed NetError in the error
 * channel: never a defect, never an uncaught exception, never a hang (each case is bounded by a
 * timeout), and no fd left open once its scope has closed.
 *
 * Hosts to connect to come from a fixed list (loopback, names that cannot resolve, malformed
 * strings): an arbitrary string may be a number that getaddrinfo reads as an IPv4 address, and
 * this test must never send a packet off this machine.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import type { Scope } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { ByteStream, Datagram, Listener, Socket } from "../../src/index.js"
import { countResources, expectBackToBaseline, report } from "./resources.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-any-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const NET_ERRORS = new Set([
  "EndOfStream",
  "ClosedResourceError",
  "BrokenResourceError",
  "BusyResourceError",
  "ConnectError",
  "ResolveError",
  "ListenError",
  "IncompleteRead",
  "DelimiterNotFound",
  "UnsupportedError",
  "InvalidArgumentError",
  "TlsError"
])

/** Values that have broken libraries before. */
const odd: ReadonlyArray<unknown> = [
  undefined,
  null,
  NaN,
  -1,
  -0,
  0,
  1,
  1.5,
  65535,
  65536,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  1e20,
  Infinity,
  -Infinity,
  "",
  "\0",
  "\0abstract",
  "x".repeat(300),
  "not a host!",
  "\u{1F600}",
  "0x1F",
  true,
  false,
  {},
  [],
  [1, 2],
  () => 1,
  Symbol("odd"),
  BigInt(7),
  new Date(0),
  new Uint8Array(0),
  new Uint8Array(300),
  new Uint16Array(3),
  new Float64Array(2),
  new ArrayBuffer(4),
  Buffer.from([0xff, 0xfe, 0x00]),
  new DataView(new ArrayBuffer(2))
]

const oddArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...odd) },
  { weight: 1, arbitrary: fc.integer({ min: -70000, max: 70000 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => s.replace(/[0-9.:]/g, "_")) }
)

/** Option objects: known keys with odd values (or the key's own arbitrary), or no object at all. */
const optionsArb = (
  keys: ReadonlyArray<string>,
  special: Readonly<Record<string, fc.Arbitrary<unknown>>> = {}
): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.uniqueArray(fc.constantFrom(...keys), { maxLength: 4 }).chain((chosen) =>
      fc.tuple(...chosen.map((key) => special[key] ?? oddArb)).map((values) =>
        Object.fromEntries(chosen.map((key, i) => [key, values[i]]))
      )
    ),
    fc.constantFrom(...odd)
  )

/** Hosts that stay on this machine whatever else the arguments say. */
const hostArb = fc.constantFrom<unknown>(
  "127.0.0.1",
  "::1",
  "localhost",
  "",
  "\0",
  "not a host!",
  "no-such-host.invalid",
  "[::1]",
  "127.0.0.1:80",
  "x".repeat(300),
  undefined,
  null,
  7,
  {}
)

/**
 * UNIX paths: every one that names a file lies under `dir` (a relative or odd string is put
 * there), so no case can leave a socket file anywhere else; the rest are abstract names, bytes,
 * or not paths at all.
 */
const confine = (value: unknown): unknown =>
  typeof value === "string" && value !== "" && !value.startsWith("\0")
    ? path.join(dir, value.replace(/\//g, "_"))
    : value
const pathArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    path.join(dir, "missing.sock"),
    dir,
    path.join(dir, "x".repeat(120)),
    "\0" + "y".repeat(120),
    Buffer.concat([Buffer.from(dir + "/"), Buffer.from([0xff, 0xfe])]),
    new Uint8Array(0)
  ),
  oddArb.map(confine)
)

const tcpOptionKeys = [
  "localHost",
  "localPort",
  "happyEyeballsDelay",
  "noDelay",
  "tls",
  "tlsHostname",
  "tlsStandardCompatible",
  "family",
  "backlog",
  "reusePort",
  "receiveQueueSize"
]

interface Case {
  readonly name: string
  readonly args: fc.Arbitrary<ReadonlyArray<unknown>>
  readonly run: (args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown, Scope.Scope>
}

const CASE_TIMEOUT = "3 seconds"

/** What one case did: fine, or a description of what it must never do. */
const verdict = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const tag = (failure.value as { _tag?: unknown } | null)?._tag
    if (tag === "CaseTimeout") return "a hang (no outcome within the timeout)"
    return typeof tag === "string" && NET_ERRORS.has(tag) ? undefined : `an untyped failure: ${String(failure.value)}`
  }
  return `a defect: ${Cause.pretty(exit.cause).split("\n").slice(0, 4).join(" | ")}`
}

const anyCall = (f: unknown, args: ReadonlyArray<unknown>) => (f as (...a: Array<unknown>) => unknown)(...args)

/** Runs a case's property; returns how many inputs it tried. */
const check = (c: Case, numRuns: number) =>
  Effect.promise(async () => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(c.args, async (args) => {
        runs++
        const exit = await Effect.runPromiseExit(
          Effect.suspend(() => c.run(args)).pipe(
            Effect.scoped,
            Effect.timeoutFail({ duration: CASE_TIMEOUT, onTimeout: () => ({ _tag: "CaseTimeout" }) })
          )
        )
        const bad = verdict(exit)
        if (bad !== undefined) throw new Error(`${c.name} gave ${bad}`)
      }),
      { numRuns, endOnFailure: true }
    )
    return runs
  })

const constructors: ReadonlyArray<Case> = [
  {
    name: "Socket.connectTcp",
    args: fc.tuple(hostArb, oddArb, optionsArb(tcpOptionKeys)),
    run: ([host, port, options]) => anyCall(Socket.connectTcp, [host, port, options]) as Effect.Effect<unknown>
  },
  {
    name: "Socket.connectUnix",
    args: fc.tuple(pathArb),
    run: ([p]) => anyCall(Socket.connectUnix, [p]) as Effect.Effect<unknown>
  },
  {
    name: "Listener.createTcpListener",
    args: fc.tuple(optionsArb(tcpOptionKeys)),
    run: ([options]) => anyCall(Listener.createTcpListener, [options]) as Effect.Effect<unknown>
  },
  {
    name: "Listener.createUnixListener",
    args: fc.tuple(pathArb, optionsArb(["mode", "backlog", "unlinkOnClose"])),
    run: ([p, options]) => anyCall(Listener.createUnixListener, [p, options]) as Effect.Effect<unknown>
  },
  {
    name: "Datagram.createUdpSocket",
    args: fc.tuple(optionsArb(tcpOptionKeys)),
    run: ([options]) => anyCall(Datagram.createUdpSocket, [options]) as Effect.Effect<unknown>
  },
  {
    name: "Datagram.createConnectedUdpSocket",
    args: fc.tuple(hostArb, oddArb, optionsArb(tcpOptionKeys)),
    run: ([host, port, options]) =>
      anyCall(Datagram.createConnectedUdpSocket, [host, port, options]) as Effect.Effect<unknown>
  },
  {
    name: "Datagram.createUnixDatagramSocket",
    args: fc.tuple(optionsArb(["localPath", "localMode", "autobind", "maxDatagramSize"], { localPath: pathArb })),
    run: ([options]) => anyCall(Datagram.createUnixDatagramSocket, [options]) as Effect.Effect<unknown>
  },
  {
    name: "Datagram.createConnectedUnixDatagramSocket",
    args: fc.tuple(
      pathArb,
      optionsArb(["localPath", "localMode", "autobind", "maxDatagramSize"], { localPath: pathArb })
    ),
    run: ([p, options]) => anyCall(Datagram.createConnectedUnixDatagramSocket, [p, options]) as Effect.Effect<unknown>
  },
  {
    name: "ByteStream.makePair / makePipe",
    args: fc.tuple(optionsArb(["bufferSize"])),
    run: ([options]) =>
      Effect.zipRight(
        anyCall(ByteStream.makePair, [options]) as Effect.Effect<unknown>,
        anyCall(ByteStream.makePipe, [options]) as Effect.Effect<unknown>
      )
  }
]

/** A TCP stream whose peer has always sent a byte more, so a valid receive never waits. */
const streamOps = (stream: Socket.TcpStream, peer: net.Socket): ReadonlyArray<Case> => {
  const fed = <A>(effect: Effect.Effect<A, unknown>) =>
    Effect.zipRight(Effect.sync(() => peer.write("z")), Effect.zipRight(Effect.sleep("1 millis"), effect))
  const buffered = ByteStream.buffered(stream)
  return [
    { name: "stream.receive", args: fc.tuple(oddArb), run: ([n]) => fed(anyCall(stream.receive, [n]) as never) },
    { name: "stream.send", args: fc.tuple(oddArb), run: ([data]) => anyCall(stream.send, [data]) as never },
    {
      name: "buffered.receiveExactly",
      args: fc.tuple(oddArb),
      run: ([n]) =>
        fed(Effect.timeoutOption(anyCall(buffered.receiveExactly, [n]) as Effect.Effect<unknown>, "50 millis"))
    },
    {
      name: "buffered.receiveUntil",
      args: fc.tuple(oddArb, oddArb),
      run: ([delimiter, max]) =>
        fed(
          Effect.timeoutOption(anyCall(buffered.receiveUntil, [delimiter, max]) as Effect.Effect<unknown>, "50 millis")
        )
    },
    {
      name: "ByteStream.text",
      args: fc.tuple(optionsArb(["encoding", "fatal"])),
      run: ([options]) => Effect.sync(() => anyCall(ByteStream.text, [stream, options]))
    }
  ]
}

const groupArb = fc.constantFrom<unknown>("224.0.0.251", "ff02::1", "127.0.0.1", "", "not a group", undefined, 7, {})

/** Operations of UDP sockets (unconnected and connected) and of a UNIX stream on the addon. */
const datagramAndUnixOps = (
  udp: Datagram.UdpSocket,
  connected: Datagram.ConnectedUdpSocket,
  unix: Socket.UnixStream
): ReadonlyArray<Case> => {
  const briefly = <A, R>(effect: Effect.Effect<A, unknown, R>) => Effect.timeoutOption(effect, "50 millis")
  return [
    { name: "udp.sendto", args: fc.tuple(oddArb, hostArb, oddArb), run: (a) => anyCall(udp.sendto, a) as never },
    { name: "connected.send", args: fc.tuple(oddArb), run: (a) => anyCall(connected.send, a) as never },
    { name: "udp.setTtl", args: fc.tuple(oddArb), run: (a) => anyCall(udp.setTtl, a) as never },
    { name: "udp.setMulticastTtl", args: fc.tuple(oddArb), run: (a) => anyCall(udp.setMulticastTtl, a) as never },
    { name: "udp.setBroadcast", args: fc.tuple(oddArb), run: (a) => anyCall(udp.setBroadcast, a) as never },
    {
      name: "udp.setMulticastLoopback",
      args: fc.tuple(oddArb),
      run: (a) => anyCall(udp.setMulticastLoopback, a) as never
    },
    {
      name: "udp.setMulticastInterface",
      args: fc.tuple(oddArb),
      run: (a) => anyCall(udp.setMulticastInterface, a) as never
    },
    { name: "udp.joinMulticast", args: fc.tuple(groupArb, oddArb), run: (a) => anyCall(udp.joinMulticast, a) as never },
    {
      name: "unix.sendFds",
      args: fc.tuple(oddArb, fc.oneof(oddArb, fc.array(oddArb, { maxLength: 3 }))),
      run: (a) => anyCall(unix.sendFds, a) as never
    },
    {
      name: "unix.receiveFds",
      args: fc.tuple(oddArb, oddArb),
      run: (a) => briefly(anyCall(unix.receiveFds, a) as never)
    },
    {
      name: "Socket.wrapTls (in-memory stream)",
      args: fc.tuple(optionsArb(["hostname", "handshakeTimeout", "serverSide", "ca", "cert", "key", "minVersion"])),
      run: ([options]) =>
        Effect.flatMap(
          ByteStream.makePair(),
          ([a]) => briefly(anyCall(Socket.wrapTls, [a, options]) as Effect.Effect<unknown, unknown, Scope.Scope>)
        )
    }
  ]
}

describe("no defect from any input", () => {
  it.live(
    "every constructor, with arbitrary arguments: a success or a typed NetError, no hang, no fd left",
    () =>
      Effect.gen(function*() {
        const before = countResources()
        const counts: Record<string, number> = {}
        for (const c of constructors) counts[c.name] = yield* check(c, 250)
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        yield* expectBackToBaseline("any-input constructors", before, "3 seconds", { cases: total, ...counts })
        expect(total).toBeGreaterThan(2000)
      }),
    120_000
  )

  it.live(
    "every stream operation, with arbitrary arguments, on one live TCP stream that keeps working",
    () =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
        const port = (listener.addresses[0] as { port: number }).port
        const peerSocket = yield* Effect.async<net.Socket>((resume) => {
          const server = listener
          void server
          const socket = net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(socket)))
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => peerSocket.destroy()))
        peerSocket.on("data", () => {})
        const stream = yield* listener.accept
        const counts: Record<string, number> = {}
        for (const c of streamOps(stream, peerSocket)) counts[c.name] = yield* check(c, 250)
        // Still a working stream after everything it was given.
        yield* stream.send("still here")
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        report("any-input stream operations", { cases: total, ...counts })
        expect(total).toBeGreaterThan(1000)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "every datagram and UNIX stream operation, with arbitrary arguments, on live sockets",
    () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
        const connected = yield* Datagram.createConnectedUdpSocket("127.0.0.1", udp.attributes.localAddress.port)
        const at = path.join(dir, "ops.sock")
        const listener = yield* Listener.createUnixListener(at)
        const unix = yield* Socket.connectUnix(at)
        const peer = yield* listener.accept
        const counts: Record<string, number> = {}
        for (const c of datagramAndUnixOps(udp, connected, unix)) counts[c.name] = yield* check(c, 200)
        // Both still work after everything they were given.
        yield* connected.send("still here")
        yield* unix.send("still here")
        void peer
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        report("any-input datagram and UNIX operations", { cases: total, ...counts })
        expect(total).toBeGreaterThan(2000)
      }).pipe(Effect.scoped),
    120_000
  )
})
