/**
 * Bad input (reliability issue, item 7): each bad argument gives its documented typed error —
 * InvalidArgumentError for an argument that is wrong in itself, checked synchronously before
 * any I/O (the effect completes under `Effect.runSyncExit`, and no fd was opened); ResolveError,
 * ConnectError or ListenError where only the system can tell (a name that does not resolve, a
 * path that is a directory or a regular file), with no fd left behind and the file untouched;
 * ClosedResourceError for a send after close or sendEof, EndOfStream again for a receive after
 * EndOfStream. A stream that was given a bad argument keeps working.
 *
 * maxBytes = 2**40 is a valid integer: it must be accepted and bounded (the receive returns
 * what is there, without allocating anything near maxBytes) or refused with
 * InvalidArgumentError — never a crash, a broken stream or a huge allocation. The allocations
 * a receive makes are measured by watching `Buffer.allocUnsafe`/`Buffer.alloc`.
 *
 * "not a host" is rejected by the C library itself (it never sends a DNS query for a name with
 * spaces: checked with strace in an empty network namespace), so this test stays off the
 * network.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Runtime } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ByteStream, Datagram, Listener, Socket } from "../../src/index.js"
import { useTestCerts } from "../helpers/certs.js"
import { countResources, expectBackToBaseline, MiB, mib, openFds, report, turns } from "./resources.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-bad-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let unique = 0
const tempPath = (name = "p") => path.join(dir, `${name}${++unique}`)
const LONG_PATH = path.join(dir, "x".repeat(120))
const LONG_ABSTRACT = "\0" + "y".repeat(120)

interface Outcome {
  /** The error's tag, "Success", a defect's description, or "async" (it needed the event loop). */
  readonly tag: string
  readonly argument?: string
  readonly reason?: string
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) return { tag: "Success" }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value as { _tag?: string; argument?: string; reason?: string }
    return {
      tag: error._tag ?? String(error),
      ...(error.argument !== undefined ? { argument: error.argument } : {}),
      ...(error.reason !== undefined ? { reason: error.reason } : {})
    }
  }
  const defect = Option.getOrUndefined(Cause.dieOption(exit.cause))
  if (Runtime.isAsyncFiberException(defect)) return { tag: "async" }
  return { tag: `defect: ${Cause.pretty(exit.cause)}` }
}

/** Runs `effect` synchronously (its own scope); what it ended with, and the fds it left open. */
const runSync = (effect: Effect.Effect<unknown, unknown, Scope.Scope>) => {
  const before = openFds()
  const exit = Effect.runSyncExit(Effect.scoped(effect))
  return { ...outcomeOf(exit), fdsOpened: openFds() - before }
}

/** Runs `effect` asynchronously (its own scope, bounded); what it ended with. */
const runAsync = (effect: Effect.Effect<unknown, unknown, Scope.Scope>) =>
  Effect.map(Effect.exit(Effect.scoped(effect).pipe(Effect.timeout("5 seconds"))), outcomeOf)

// ---------------------------------------------------------------------------------------------
// Synchronous argument errors: no I/O, no fd

interface SyncCase {
  readonly name: string
  readonly effect: () => Effect.Effect<unknown, unknown, Scope.Scope>
  readonly argument: string
}

const badPorts = [-1, 65536, 1.5, Number.NaN] as const
const syncCases: ReadonlyArray<SyncCase> = [
  ...badPorts.flatMap((port): Array<SyncCase> => [
    { name: `connectTcp port ${port}`, effect: () => Socket.connectTcp(HOST, port), argument: "port" },
    {
      name: `connectTcp localPort ${port}`,
      effect: () => Socket.connectTcp(HOST, 80, { localPort: port }),
      argument: "localPort"
    },
    {
      name: `createTcpListener localPort ${port}`,
      effect: () => Listener.createTcpListener({ localHost: HOST, localPort: port }),
      argument: "localPort"
    },
    {
      name: `createUdpSocket localPort ${port}`,
      effect: () => Datagram.createUdpSocket({ family: "IPv4", localPort: port }),
      argument: "localPort"
    },
    {
      name: `createConnectedUdpSocket remotePort ${port}`,
      effect: () => Datagram.createConnectedUdpSocket(HOST, port),
      argument: "remotePort"
    }
  ]),
  { name: "connectTcp port 0", effect: () => Socket.connectTcp(HOST, 0), argument: "port" },
  { name: "connectTcp host \"\"", effect: () => Socket.connectTcp("", 80), argument: "host" },
  { name: "connectTcp host with NUL", effect: () => Socket.connectTcp("local\0host", 80), argument: "host" },
  {
    name: "connectTcp localHost \"\"",
    effect: () => Socket.connectTcp(HOST, 80, { localHost: "" }),
    argument: "localHost"
  },
  {
    name: "createTcpListener localHost \"\"",
    effect: () => Listener.createTcpListener({ localHost: "" }),
    argument: "localHost"
  },
  {
    name: "createTcpListener backlog 0",
    effect: () => Listener.createTcpListener({ localHost: HOST, backlog: 0 }),
    argument: "backlog"
  },
  {
    name: "createTcpListener backlog -1",
    effect: () => Listener.createTcpListener({ localHost: HOST, backlog: -1 }),
    argument: "backlog"
  },
  {
    name: "createUdpSocket without family or localHost",
    effect: () => Datagram.createUdpSocket({}),
    argument: "options"
  },
  {
    name: "createUdpSocket localHost \"\"",
    effect: () => Datagram.createUdpSocket({ localHost: "" }),
    argument: "localHost"
  },
  {
    name: "createUdpSocket receiveQueueSize 0",
    effect: () => Datagram.createUdpSocket({ family: "IPv4", receiveQueueSize: 0 }),
    argument: "receiveQueueSize"
  },
  {
    name: "createConnectedUdpSocket remoteHost \"\"",
    effect: () => Datagram.createConnectedUdpSocket("", 9),
    argument: "remoteHost"
  },
  { name: "connectUnix path too long", effect: () => Socket.connectUnix(LONG_PATH), argument: "path" },
  { name: "connectUnix abstract name too long", effect: () => Socket.connectUnix(LONG_ABSTRACT), argument: "path" },
  {
    name: "connectUnix path with NUL (not abstract)",
    effect: () => Socket.connectUnix(`${dir}/a\0b`),
    argument: "path"
  },
  { name: "connectUnix path \"\"", effect: () => Socket.connectUnix(""), argument: "path" },
  { name: "createUnixListener path too long", effect: () => Listener.createUnixListener(LONG_PATH), argument: "path" },
  {
    name: "createUnixListener path with NUL",
    effect: () => Listener.createUnixListener(`${dir}/a\0b`),
    argument: "path"
  },
  {
    name: "createUnixListener backlog 0",
    effect: () => Listener.createUnixListener(tempPath(), { backlog: 0 }),
    argument: "backlog"
  },
  {
    name: "createUnixDatagramSocket localPath too long",
    effect: () => Datagram.createUnixDatagramSocket({ localPath: LONG_PATH }),
    argument: "localPath"
  },
  {
    name: "createUnixDatagramSocket localPath with NUL",
    effect: () => Datagram.createUnixDatagramSocket({ localPath: `${dir}/a\0b` }),
    argument: "localPath"
  },
  {
    name: "createUnixDatagramSocket maxDatagramSize 0",
    effect: () => Datagram.createUnixDatagramSocket({ maxDatagramSize: 0 }),
    argument: "maxDatagramSize"
  },
  {
    name: "createConnectedUnixDatagramSocket remotePath too long",
    effect: () => Datagram.createConnectedUnixDatagramSocket(LONG_PATH),
    argument: "remotePath"
  },
  { name: "makePair bufferSize 0", effect: () => ByteStream.makePair({ bufferSize: 0 }), argument: "bufferSize" }
]

describe("bad input: arguments refused synchronously, before any I/O", () => {
  it("every case fails with InvalidArgumentError naming its argument, synchronously, opening no fd", () => {
    const rows = syncCases.map((c) => ({ name: c.name, expected: c.argument, ...runSync(c.effect()) }))
    const wrong = rows.filter((r) => r.tag !== "InvalidArgumentError" || r.argument !== r.expected || r.fdsOpened !== 0)
    report("bad input sync table", {
      cases: rows.length,
      invalidArgumentErrors: rows.filter((r) => r.tag === "InvalidArgumentError").length,
      synchronous: rows.filter((r) => r.tag !== "async").length,
      fdsOpened: rows.reduce((n, r) => n + r.fdsOpened, 0),
      wrong: wrong.map((r) => `${r.name}: ${r.tag}(${r.argument ?? ""}) fds+${r.fdsOpened}`)
    })
    expect(wrong).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// Errors only the system can give: typed, no fd left, nothing touched

describe("bad input: errors only the system can report", () => {
  it.live("names that do not resolve, paths that are a directory, a regular file or nothing: typed errors, no fd left, files untouched", () =>
    Effect.gen(function*() {
      const directory = fs.mkdtempSync(path.join(dir, "d-"))
      const file = tempPath("file")
      fs.writeFileSync(file, "keep me")
      const missing = tempPath("missing")
      yield* turns(2)
      const baseline = countResources()
      const cases: ReadonlyArray<
        {
          name: string
          effect: Effect.Effect<unknown, unknown, Scope.Scope>
          tag: string
          reasons: ReadonlyArray<string>
        }
      > = [
        {
          name: "connectTcp \"not a host\"",
          effect: Socket.connectTcp("not a host", 80),
          tag: "ResolveError",
          reasons: ["NotFound"]
        },
        {
          name: "createTcpListener localHost \"not a host\"",
          effect: Listener.createTcpListener({ localHost: "not a host" }),
          tag: "ResolveError",
          reasons: ["NotFound"]
        },
        {
          name: "createUdpSocket localHost \"not a host\"",
          effect: Datagram.createUdpSocket({ localHost: "not a host" }),
          tag: "ResolveError",
          reasons: ["NotFound"]
        },
        {
          name: "connectUnix a directory",
          effect: Socket.connectUnix(directory),
          tag: "ConnectError",
          reasons: ["ConnectionRefused"]
        },
        {
          name: "connectUnix a regular file",
          effect: Socket.connectUnix(file),
          tag: "ConnectError",
          reasons: ["ConnectionRefused"]
        },
        {
          name: "connectUnix nothing there",
          effect: Socket.connectUnix(missing),
          tag: "ConnectError",
          reasons: ["NotFound"]
        },
        {
          name: "createUnixListener on a directory",
          effect: Listener.createUnixListener(directory),
          tag: "ListenError",
          reasons: ["AddressInUse"]
        },
        {
          name: "createUnixListener on a regular file",
          effect: Listener.createUnixListener(file),
          tag: "ListenError",
          reasons: ["AddressInUse"]
        },
        {
          name: "createUnixDatagramSocket on a regular file",
          effect: Datagram.createUnixDatagramSocket({ localPath: file }),
          tag: "ListenError",
          reasons: ["AddressInUse"]
        },
        {
          name: "createConnectedUnixDatagramSocket to a directory",
          effect: Datagram.createConnectedUnixDatagramSocket(directory),
          tag: "ConnectError",
          reasons: ["ConnectionRefused"]
        },
        {
          name: "createConnectedUnixDatagramSocket to nothing",
          effect: Datagram.createConnectedUnixDatagramSocket(missing),
          tag: "ConnectError",
          reasons: ["NotFound"]
        }
      ]
      const rows: Array<{ name: string; outcome: Outcome; ok: boolean }> = []
      for (const c of cases) {
        const outcome = yield* runAsync(c.effect)
        rows.push({ name: c.name, outcome, ok: outcome.tag === c.tag && c.reasons.includes(outcome.reason ?? "") })
      }
      const untouched = fs.readFileSync(file, "utf8") === "keep me" && fs.statSync(directory).isDirectory()
      yield* expectBackToBaseline("bad input system errors", baseline, "2 seconds", {
        cases: rows.length,
        outcomes: rows.map((r) => `${r.name}: ${r.outcome.tag}(${r.outcome.reason ?? ""})`),
        filesUntouched: untouched
      })
      expect(rows.filter((r) => !r.ok).map((r) => `${r.name}: ${r.outcome.tag}(${r.outcome.reason ?? ""})`)).toEqual([])
      expect(untouched).toBe(true)
    }))
})

// ---------------------------------------------------------------------------------------------
// Bad arguments on connected streams

interface Pair {
  readonly ours: ByteStream.ByteStream
  readonly peer: ByteStream.ByteStream
}

const pairs: ReadonlyArray<{ readonly name: string; readonly make: Effect.Effect<Pair, unknown, Scope.Scope> }> = [
  {
    name: "TCP",
    make: Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const address = listener.addresses[0]!
      const ours = yield* Socket.connectTcp(HOST, address._tag === "InetAddress" ? address.port : 0)
      return { ours, peer: yield* listener.accept }
    })
  },
  {
    name: "UNIX stream",
    make: Effect.gen(function*() {
      const at = tempPath("u")
      const listener = yield* Listener.createUnixListener(at)
      const ours = yield* Socket.connectUnix(at)
      return { ours, peer: yield* listener.accept }
    })
  },
  {
    name: "TLS",
    make: Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({
        localHost: HOST,
        tls: { cert: certs().server.cert, key: certs().server.key }
      })
      const address = listener.addresses[0]!
      const connecting = yield* Effect.fork(
        Socket.connectTcp(HOST, address._tag === "InetAddress" ? address.port : 0, { tls: { ca: certs().ca.cert } })
      )
      const peer = yield* listener.accept
      return { ours: yield* connecting.await.pipe(Effect.flatten), peer }
    })
  },
  {
    name: "in-memory pair",
    make: Effect.map(ByteStream.makePair(), ([ours, peer]) => ({ ours, peer }))
  }
]

/** Watches Buffer.allocUnsafe/alloc/allocUnsafeSlow while `effect` runs: the largest size asked for. */
const largestAllocation = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const originals = {
        allocUnsafe: Buffer.allocUnsafe,
        alloc: Buffer.alloc,
        allocUnsafeSlow: Buffer.allocUnsafeSlow
      }
      const seen = { largest: 0 }
      const watch = <F extends (size: number, ...rest: Array<any>) => Buffer>(f: F): F =>
        ((size: number, ...rest: Array<any>) => {
          seen.largest = Math.max(seen.largest, size)
          return f.call(Buffer, size, ...rest)
        }) as F
      Buffer.allocUnsafe = watch(originals.allocUnsafe)
      Buffer.alloc = watch(originals.alloc)
      Buffer.allocUnsafeSlow = watch(originals.allocUnsafeSlow)
      return { originals, seen }
    }),
    ({ seen }) => Effect.map(Effect.exit(effect), (exit) => ({ exit, largest: seen.largest })),
    ({ originals }) =>
      Effect.sync(() => {
        Buffer.allocUnsafe = originals.allocUnsafe
        Buffer.alloc = originals.alloc
        Buffer.allocUnsafeSlow = originals.allocUnsafeSlow
      })
  )

/** Receives exactly `n` bytes (bounded). */
const receiveN = (stream: ByteStream.ByteStream, n: number) =>
  Effect.gen(function*() {
    let got = Buffer.alloc(0)
    for (let i = 0; i < 1000 && got.length < n; i++) got = Buffer.concat([got, yield* stream.receive(n - got.length)])
    return got.toString()
  }).pipe(Effect.timeout("3 seconds"))

/** What untyped callers pass to a send. */
const badPayloads: ReadonlyArray<readonly [string, unknown]> = [
  ["undefined", undefined],
  ["null", null],
  ["123", 123],
  ["{}", {}],
  ["[1, 2]", [1, 2]],
  ["a Symbol", Symbol("x")],
  ["an ArrayBuffer", new ArrayBuffer(4)]
]

describe("bad input on a connected stream", () => {
  for (const { make, name } of pairs) {
    it.scopedLive(`${name}: maxBytes 0, -1, 1.5, NaN are refused synchronously; 2**40 is accepted and bounded; the stream keeps working`, () =>
      Effect.gen(function*() {
        const { ours, peer } = yield* make
        const bad = [0, -1, 1.5, Number.NaN].map((maxBytes) => ({ maxBytes, ...runSync(ours.receive(maxBytes)) }))
        yield* peer.send("hello")
        yield* turns(5)
        // A huge (valid) maxBytes: the receive gives what is there and allocates nothing near it.
        const huge = yield* largestAllocation(ours.receive(2 ** 40).pipe(Effect.timeout("3 seconds")))
        const hugeOutcome = outcomeOf(huge.exit)
        const hugeBytes = Exit.isSuccess(huge.exit) ? Buffer.from(huge.exit.value).toString() : undefined
        // The stream still works, both ways.
        yield* peer.send("again")
        const after = yield* Effect.exit(receiveN(ours, 5))
        const stillWorks = Exit.isSuccess(after) && after.value === "again"
        report(`bad input maxBytes ${name}`, {
          refused: bad.map((b) => `${b.maxBytes}: ${b.tag}(${b.argument ?? ""})`),
          "2**40": hugeBytes !== undefined
            ? `${JSON.stringify(hugeBytes)}`
            : hugeOutcome.tag + `(${hugeOutcome.reason ?? hugeOutcome.argument ?? ""})`,
          largestAllocation: mib(huge.largest),
          stillWorks
        })
        for (const b of bad) {
          expect(b.tag, `receive(${b.maxBytes})`).toBe("InvalidArgumentError")
          expect(b.argument).toBe("maxBytes")
        }
        // Either accepted and bounded, or refused as an argument error; never a broken stream.
        if (hugeOutcome.tag === "Success") expect(hugeBytes).toBe("hello")
        else {expect(hugeOutcome.tag, `receive(2**40) gave ${hugeOutcome.tag}(${hugeOutcome.reason ?? ""})`).toBe(
            "InvalidArgumentError"
          )}
        expect(huge.largest, "receive(2**40) allocated a buffer sized by maxBytes").toBeLessThan(64 * MiB)
        expect(stillWorks, "the stream still works after bad maxBytes").toBe(true)
      }))

    it.scopedLive(`${name}: send after close and after sendEof is ClosedResourceError; receive after EndOfStream is EndOfStream again, after close ClosedResourceError`, () =>
      Effect.gen(function*() {
        const { ours, peer } = yield* make
        const results: Record<string, string> = {}
        // The peer ends its side; we read to EndOfStream, twice.
        yield* peer.send("last")
        const eofCapable = name !== "TLS" // TLS cannot half-close: the peer closes instead
        if (eofCapable) yield* peer.sendEof
        else yield* peer.close
        yield* receiveN(ours, 4)
        results["receive at end"] = outcomeOf(yield* Effect.exit(ours.receive().pipe(Effect.timeout("3 seconds")))).tag
        results["receive after EndOfStream"] = runSync(ours.receive()).tag
        if (eofCapable) {
          yield* ours.sendEof
          results["send after sendEof"] = runSync(ours.send("x")).tag
          results["sendEof twice"] = runSync(ours.sendEof).tag
        }
        yield* ours.close
        results["send after close"] = runSync(ours.send("x")).tag
        results["receive after close"] = runSync(ours.receive()).tag
        results["close twice"] = runSync(ours.close).tag
        report(`bad input after close/EOF ${name}`, results)
        expect(results["receive at end"]).toBe("EndOfStream")
        expect(results["receive after EndOfStream"]).toBe("EndOfStream")
        if (eofCapable) {
          expect(results["send after sendEof"]).toBe("ClosedResourceError")
          expect(results["sendEof twice"]).toBe("Success")
        }
        expect(results["send after close"]).toBe("ClosedResourceError")
        expect(results["receive after close"]).toBe("ClosedResourceError")
        expect(["Success", "async"]).toContain(results["close twice"])
      }))
  }

  for (const { make, name } of pairs) {
    it.scopedLive(`${name}: send(undefined, null, 123, {}, [], a Symbol) is InvalidArgumentError synchronously; a Uint16Array or DataView is sent as its bytes; the stream keeps working`, () =>
      Effect.gen(function*() {
        const { ours, peer } = yield* make
        const bad = badPayloads.map(([label, value]) => ({ label, ...runSync(ours.send(value as never)) }))
        // Other ArrayBufferViews: the bytes they view, at their offset.
        const wide = new Uint16Array(new Uint8Array([0, 0, 0x68, 0x69, 0x21, 0x21]).buffer, 2, 2) // "hi!!"
        const view = new DataView(new Uint8Array([0x78, 0x3f, 0x3f, 0x79]).buffer, 1, 2) // "??"
        yield* ours.send(wide as never) // typed as Uint8Array | string; accepted at run time
        yield* ours.send(view as never)
        yield* ours.send("ok")
        const got = yield* Effect.exit(receiveN(peer, 8))
        report(`bad input send payload ${name}`, {
          outcomes: bad.map((b) => `${b.label}: ${b.tag}(${b.argument ?? ""})`),
          received: Exit.isSuccess(got) ? got.value : outcomeOf(got).tag
        })
        for (const b of bad) {
          expect(b.tag, `send(${b.label})`).toBe("InvalidArgumentError")
          expect(b.argument, `send(${b.label})`).toBe("data")
        }
        expect(Exit.isSuccess(got) ? got.value : outcomeOf(got).tag).toBe("hi!!??ok")
      }))
  }

  it.scopedLive("bad payloads on UNIX sendFds and on UDP / UNIX datagram send and sendto: InvalidArgumentError synchronously, nothing sent", () =>
    Effect.gen(function*() {
      const at = tempPath("fdp")
      const listener = yield* Listener.createUnixListener(at)
      const ours = yield* Socket.connectUnix(at)
      yield* listener.accept
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4", localHost: HOST })
      const port = udp.attributes.localAddress.port
      const connectedUdp = yield* Datagram.createConnectedUdpSocket(HOST, port)
      const dg = tempPath("dgp")
      const unix = yield* Datagram.createUnixDatagramSocket({ localPath: dg })
      const connectedUnix = yield* Datagram.createConnectedUnixDatagramSocket(dg)
      const rows: Array<{ label: string; tag: string; argument?: string; expected: string }> = []
      for (const [label, value] of badPayloads) {
        const v = value as never
        rows.push({ label: `sendFds(${label})`, expected: "message", ...runSync(ours.sendFds(v, [0])) })
        rows.push({ label: `udp sendto(${label})`, expected: "payload", ...runSync(udp.sendto(v, HOST, port)) })
        rows.push({ label: `connected udp send(${label})`, expected: "payload", ...runSync(connectedUdp.send(v)) })
        rows.push({ label: `unix sendto(${label})`, expected: "payload", ...runSync(unix.sendto(v, dg)) })
        rows.push({ label: `connected unix send(${label})`, expected: "payload", ...runSync(connectedUnix.send(v)) })
      }
      // Nothing reached either datagram socket; a good datagram still does.
      yield* udp.sendto(new Uint16Array([0x6b6f]) as never, HOST, port)
      const [first] = yield* udp.receive.pipe(Effect.timeout("3 seconds"))
      yield* connectedUnix.send(new DataView(new Uint8Array([0x6f, 0x6b]).buffer) as never)
      const [second] = yield* unix.receive.pipe(Effect.timeout("3 seconds"))
      report("bad input datagram/fd payloads", {
        outcomes: rows.map((r) => `${r.label}: ${r.tag}(${r.argument ?? ""})`),
        firstDatagrams: [Buffer.from(first).toString(), Buffer.from(second).toString()]
      })
      for (const row of rows) {
        expect(row.tag, row.label).toBe("InvalidArgumentError")
        expect(row.argument, row.label).toBe(row.expected)
      }
      expect(Buffer.from(first).toString()).toBe("ok")
      expect(Buffer.from(second).toString()).toBe("ok")
    }))

  it.scopedLive("UNIX stream fd passing: fds -1, a closed fd, a non-fd object, none; msglen/maxfds out of range: InvalidArgumentError, synchronously; the stream keeps working", () =>
    Effect.gen(function*() {
      const at = tempPath("fd")
      const listener = yield* Listener.createUnixListener(at)
      const ours = yield* Socket.connectUnix(at)
      const peer = (yield* listener.accept) as Socket.UnixStream
      const closedFd = fs.openSync(anyFile(), "r")
      fs.closeSync(closedFd)
      const cases: ReadonlyArray<[string, () => Effect.Effect<unknown, unknown>, string]> = [
        ["fds [-1]", () => ours.sendFds("x", [-1]), "fds[0]"],
        ["fds [a closed fd]", () => ours.sendFds("x", [closedFd]), "fds[0]"],
        ["fds [{}]", () => ours.sendFds("x", [{} as never]), "fds[0]"],
        ["fds [\"3\"]", () => ours.sendFds("x", ["3" as never]), "fds[0]"],
        ["fds [1.5]", () => ours.sendFds("x", [1.5]), "fds[0]"],
        ["fds []", () => ours.sendFds("x", []), "fds"],
        ["empty message", () => ours.sendFds("", [0]), "message"],
        ["receiveFds msglen 0", () => peer.receiveFds(0, 1), "msglen"],
        ["receiveFds maxfds 0", () => peer.receiveFds(1, 0), "maxfds"],
        ["receiveFds maxfds 2000", () => peer.receiveFds(1, 2000), "maxfds"]
      ]
      const rows = cases.map(([label, effect, argument]) => ({ label, argument, ...runSync(effect()) }))
      yield* ours.send("ok")
      const works = yield* Effect.exit(receiveN(peer, 2))
      report("bad input fds", {
        outcomes: rows.map((r) => `${r.label}: ${r.tag}(${r.argument ?? ""}) fds+${r.fdsOpened}`),
        stillWorks: Exit.isSuccess(works) && works.value === "ok"
      })
      for (const row of rows) {
        expect(row.tag, row.label).toBe("InvalidArgumentError")
        expect(row.fdsOpened, row.label).toBe(0)
      }
      expect(Exit.isSuccess(works) && works.value === "ok").toBe(true)
    }))

  it.scopedLive("UNIX stream receiveFds(msglen = 2**40): accepted and bounded, or refused — never a broken stream or a huge allocation", () =>
    Effect.gen(function*() {
      const at = tempPath("fdbig")
      const listener = yield* Listener.createUnixListener(at)
      const ours = yield* Socket.connectUnix(at)
      const peer = (yield* listener.accept) as Socket.UnixStream
      yield* ours.send("hello")
      yield* turns(5)
      const huge = yield* largestAllocation(peer.receiveFds(2 ** 40, 1).pipe(Effect.timeout("3 seconds")))
      const outcome = outcomeOf(huge.exit)
      yield* ours.send("again")
      const after = yield* Effect.exit(receiveN(peer, 5))
      const stillWorks = Exit.isSuccess(after) && after.value === "again"
      report("bad input receiveFds msglen 2**40", {
        outcome: Exit.isSuccess(huge.exit)
          ? JSON.stringify(Buffer.from(huge.exit.value[0]).toString())
          : `${outcome.tag}(${outcome.reason ?? outcome.argument ?? ""})`,
        largestAllocation: mib(huge.largest),
        stillWorks
      })
      if (Exit.isSuccess(huge.exit)) expect(Buffer.from(huge.exit.value[0]).toString()).toBe("hello")
      else expect(outcome.tag).toBe("InvalidArgumentError")
      expect(huge.largest).toBeLessThan(64 * MiB)
      expect(stillWorks).toBe(true)
    }))

  it.scopedLive("datagram sockets: sendto to a bad port or host is InvalidArgumentError; send after close is ClosedResourceError", () =>
    Effect.gen(function*() {
      const udp = yield* Datagram.createUdpSocket({ family: "IPv4", localHost: HOST })
      const connectedUdp = yield* Datagram.createConnectedUdpSocket(HOST, udp.attributes.localAddress.port)
      const at = tempPath("dg")
      const unix = yield* Datagram.createUnixDatagramSocket({ localPath: at })
      const connectedUnix = yield* Datagram.createConnectedUnixDatagramSocket(at)
      const rows: Record<string, string> = {}
      for (const port of badPorts) rows[`sendto port ${port}`] = `${runSync(udp.sendto("x", HOST, port)).tag}`
      rows["sendto host \"\""] = runSync(udp.sendto("x", "", 9)).tag
      rows["sendto host undefined (an untyped caller)"] =
        runSync(udp.sendto("x", undefined as unknown as string, 9)).tag
      rows["unix sendto path too long"] = runSync(unix.sendto("x", LONG_PATH)).tag
      yield* udp.close
      yield* connectedUdp.close
      yield* unix.close
      yield* connectedUnix.close
      rows["UDP sendto after close"] = runSync(udp.sendto("x", HOST, 9)).tag
      rows["UDP receive after close"] = runSync(udp.receive).tag
      rows["connected UDP send after close"] = runSync(connectedUdp.send("x")).tag
      rows["UNIX datagram sendto after close"] = runSync(unix.sendto("x", at)).tag
      rows["connected UNIX datagram send after close"] = runSync(connectedUnix.send("x")).tag
      rows["UNIX datagram receive after close"] = runSync(unix.receive).tag
      report("bad input datagrams", rows)
      for (const [label, tag] of Object.entries(rows)) {
        expect(tag, label).toBe(label.includes("after close") ? "ClosedResourceError" : "InvalidArgumentError")
      }
    }))

  it.live("UNIX datagram maxDatagramSize 2**40: refused (or bounded), never a leaked fd or a huge allocation", () =>
    Effect.gen(function*() {
      yield* turns(2)
      const baseline = countResources()
      const result = yield* largestAllocation(
        Effect.scoped(Datagram.createUnixDatagramSocket({ maxDatagramSize: 2 ** 40 }))
      )
      const outcome = outcomeOf(result.exit)
      yield* expectBackToBaseline("bad input maxDatagramSize 2**40", baseline, "1 second", {
        outcome: `${outcome.tag}(${outcome.argument ?? outcome.reason ?? ""})`,
        largestAllocation: mib(result.largest)
      })
      expect(["InvalidArgumentError", "Success"]).toContain(outcome.tag)
      expect(result.largest).toBeLessThan(64 * MiB)
    }))
})

/** A new empty file in the temp dir. */
function anyFile(): string {
  const file = tempPath("closed")
  fs.writeFileSync(file, "")
  return file
}
