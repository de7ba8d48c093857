/**
 * UNIX datagram sockets (`Datagram.createUnixDatagramSocket`,
 * `Datagram.createConnectedUnixDatagramSocket`, over the native addon): conformance G74–G78 and
 * decision S17 of `reference/conformance.md`, python3's AF_UNIX SOCK_DGRAM as the independent
 * peer in both directions, datagrams longer than `maxDatagramSize`, per-datagram send failures,
 * autobind, `localMode`, the stale-file policy, path limits, interrupted receives, and the
 * typed refusal without the addon (EFFECT_SOCKETS_DISABLE_ADDON=1, in a child process: the
 * addon cache is module state).
 *
 * Not applicable: the adoption parts of G77/G78 (no API adopts an existing socket).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Queue, Stream } from "effect"
import type { Duration } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { UnixDatagramSocket, UnixSender } from "../src/Datagram/index.js"
import { Datagram } from "../src/index.js"
import { runWithoutAddon } from "./helpers/noAddon.js"
import { spawnPython } from "./helpers/python.js"
import { awaitSuspended } from "./helpers/rawPeers.js"

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-dg-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let unique = 0
const tempPath = (name = "d"): string => path.join(dir, `${name}${++unique}`)
const abstractName = (): string => `\0es-dg-${crypto.randomBytes(8).toString("hex")}`
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()
const reversed = (s: string): string => [...s].reverse().join("")
/** A sender as something `toEqual` compares: bytes become a Buffer. */
const norm = (sender: UnixSender | string): unknown => (sender instanceof Uint8Array ? Buffer.from(sender) : sender)

const within = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  what: string,
  duration: Duration.DurationInput = "3 seconds"
) => Effect.timeoutFail(effect, { duration, onTimeout: () => new Error(`timed out: ${what}`) })

/** The next datagram as [text, sender], bounded. */
const receiveText = (socket: UnixDatagramSocket) =>
  Effect.map(within(socket.receive, "a datagram"), ([payload, sender]) => [text(payload), norm(sender)] as const)

/** A bound socket at a fresh path. */
const bound = (options: Datagram.UnixDatagramOptions = {}) =>
  Effect.map(Datagram.createUnixDatagramSocket({ localPath: tempPath(), ...options }), (socket) => ({
    socket,
    at: socket.attributes.localAddress.path as string
  }))

const pyEcho = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.settimeout(10)
s.bind(sys.argv[1])
print("ready")
for _ in range(int(sys.argv[2])):
    data, addr = s.recvfrom(65536)
    print(repr(addr))
    s.sendto(data[::-1], addr)
`
const pySenders = `
import socket, sys
target, path, name = sys.argv[1], sys.argv[2], "\\0" + sys.argv[3]
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.sendto(b"unbound", target)
b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); b.settimeout(10); b.bind(path)
b.sendto(b"bound", target)
a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a.settimeout(10); a.bind(name)
a.sendto(b"abstract", target)
print(b.recv(100).decode())
print(a.recv(100).decode())
`

describe("UNIX datagram sockets", () => {
  it.scopedLive("G74 attributes of a bound socket", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const socket = yield* Datagram.createUnixDatagramSocket({ localPath: at })
      expect(socket.attributes).toEqual({ family: "unix", localAddress: { _tag: "UnixAddress", path: at } })
      expect(fs.statSync(at).isSocket()).toBe(true)
    }))

  it.scopedLive("G75 sending to itself: a path comes back as text, an abstract name as bytes", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      yield* socket.sendto("blah", at)
      expect(yield* receiveText(socket)).toEqual(["blah", at])
      const name = abstractName()
      const abstract = yield* Datagram.createUnixDatagramSocket({ localPath: name })
      expect(norm(abstract.attributes.localAddress.path)).toEqual(Buffer.from(name))
      yield* abstract.sendto(new Uint8Array([0, 255]), name)
      const [payload, sender] = yield* within(abstract.receive, "own datagram")
      expect([...payload]).toEqual([0, 255])
      expect(norm(sender)).toEqual(Buffer.from(name))
    }))

  it.scopedLive("G76 echo between two bound sockets, the server iterating its stream", () =>
    Effect.gen(function*() {
      const server = yield* bound()
      const client = yield* bound()
      yield* Effect.forkScoped(server.socket.stream.pipe(
        Stream.runForEach(([packet, sender]) => server.socket.sendto(reversed(text(packet)), sender!))
      ))
      yield* client.socket.sendto("FOOBAR", server.at)
      expect(yield* receiveText(client.socket)).toEqual(["RABOOF", server.at])
    }))

  it.scopedLive("G77 busy, close during receive, receive and sendto after close", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const first = yield* Effect.fork(socket.receive)
      yield* awaitSuspended(first)
      const busy = yield* Effect.flip(socket.receive)
      expect(busy).toMatchObject({ _tag: "BusyResourceError", operation: "reading from" })
      yield* Effect.fork(socket.close)
      expect(yield* within(Effect.flip(Fiber.join(first)), "the blocked receive")).toMatchObject({
        _tag: "ClosedResourceError"
      })
      expect(yield* Effect.flip(socket.receive)).toMatchObject({ _tag: "ClosedResourceError" })
      expect(yield* Effect.flip(socket.sendto("x", at))).toMatchObject({ _tag: "ClosedResourceError" })
      yield* socket.close // idempotent
    }))

  it.scopedLive("G77 byte and non-UTF-8 localPath values work", () =>
    Effect.gen(function*() {
      const utf8 = tempPath("bytes-é")
      const a = yield* Datagram.createUnixDatagramSocket({ localPath: Buffer.from(utf8) })
      expect(a.attributes.localAddress.path).toBe(utf8)
      const raw = Buffer.concat([Buffer.from(`${dir}/raw-${++unique}-`), Buffer.from([0xff, 0xfe])])
      const b = yield* Datagram.createUnixDatagramSocket({ localPath: raw })
      expect(norm(b.attributes.localAddress.path)).toEqual(raw)
      yield* b.sendto("from raw", utf8)
      expect(yield* receiveText(a)).toEqual(["from raw", raw])
      yield* a.sendto("back", raw)
      expect(yield* receiveText(b)).toEqual(["back", utf8])
    }))

  it.scopedLive("G78 connected UNIX datagram sockets: attributes, both directions, closing", () =>
    Effect.gen(function*() {
      const dg1 = yield* bound()
      const at2 = tempPath()
      const dg2 = yield* Datagram.createConnectedUnixDatagramSocket(dg1.at, { localPath: at2 })
      expect(dg2.attributes).toEqual({
        family: "unix",
        localAddress: { _tag: "UnixAddress", path: at2 },
        remoteAddress: { _tag: "UnixAddress", path: dg1.at }
      })
      yield* dg2.send("blah")
      expect(yield* receiveText(dg1.socket)).toEqual(["blah", at2])
      yield* dg1.socket.sendto("halb", at2)
      expect(text(yield* within(dg2.receive, "halb"))).toBe("halb")
      // only the peer may send to a connected socket: anyone else gets a typed failure
      const stranger = yield* bound()
      expect(yield* Effect.flip(stranger.socket.sendto("intruder", at2))).toMatchObject({ _tag: "BrokenResourceError" })

      const first = yield* Effect.fork(dg2.receive)
      yield* awaitSuspended(first)
      expect(yield* Effect.flip(dg2.receive)).toMatchObject({ _tag: "BusyResourceError" })
      yield* Effect.fork(dg2.close)
      expect(yield* within(Effect.flip(Fiber.join(first)), "the blocked receive")).toMatchObject({
        _tag: "ClosedResourceError"
      })
      expect(yield* Effect.flip(dg2.receive)).toMatchObject({ _tag: "ClosedResourceError" })
      expect(yield* Effect.flip(dg2.send("x"))).toMatchObject({ _tag: "ClosedResourceError" })
      const missing = yield* Effect.flip(Effect.scoped(Datagram.createConnectedUnixDatagramSocket(tempPath())))
      expect(missing).toMatchObject({ _tag: "ConnectError", reason: "NotFound" })
    }))

  it.scopedLive("S17 sender forms: unbound is null, bound is its path, abstract is bytes", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const unnamed = yield* Datagram.createUnixDatagramSocket()
      const named = yield* bound()
      const name = abstractName()
      const abstract = yield* Datagram.createUnixDatagramSocket({ localPath: name })
      yield* unnamed.sendto("unbound", at)
      yield* named.socket.sendto("bound", at)
      yield* abstract.sendto("abstract", at)
      expect(yield* receiveText(socket)).toEqual(["unbound", null])
      expect(yield* receiveText(socket)).toEqual(["bound", named.at])
      expect(yield* receiveText(socket)).toEqual(["abstract", Buffer.from(name)])
    }))

  it.scopedLive("S17 and interop: python3 AF_UNIX senders (unbound, bound, abstract) and our replies", () =>
    Effect.gen(function*() {
      const { socket } = yield* bound()
      const pyPath = tempPath("py")
      const hex = crypto.randomBytes(6).toString("hex")
      const python = yield* spawnPython(pySenders, [socket.attributes.localAddress.path as string, pyPath, hex])
      const got = [yield* receiveText(socket), yield* receiveText(socket), yield* receiveText(socket)]
      expect(got).toEqual([["unbound", null], ["bound", pyPath], ["abstract", Buffer.from(`\0${hex}`)]])
      yield* socket.sendto("reply to bound", pyPath)
      yield* socket.sendto("reply to abstract", got[2]![1] as Buffer)
      expect(yield* python.line()).toBe("reply to bound")
      expect(yield* python.line()).toBe("reply to abstract")
      yield* python.done()
    }))

  it.scopedLive("python3 AF_UNIX echo server: unconnected, connected and autobound clients", () =>
    Effect.gen(function*() {
      const pyPath = tempPath("py")
      const python = yield* spawnPython(pyEcho, [pyPath, "3"])
      expect(yield* python.line()).toBe("ready")
      const client = yield* bound()
      yield* client.socket.sendto("FOOBAR", pyPath)
      expect(yield* receiveText(client.socket)).toEqual(["RABOOF", pyPath])
      expect(yield* python.line()).toBe(`'${client.at}'`)
      const connected = yield* Datagram.createConnectedUnixDatagramSocket(pyPath, { localPath: tempPath() })
      yield* connected.send("123456")
      expect(text(yield* within(connected.receive, "echo"))).toBe("654321")
      yield* python.line()
      // autobind: an abstract name Linux picks; python replies to it
      const auto = yield* Datagram.createUnixDatagramSocket({ autobind: true })
      const name = norm(auto.attributes.localAddress.path) as Buffer
      expect(Buffer.isBuffer(name) && name.length > 1 && name[0] === 0).toBe(true)
      yield* auto.sendto("autobound", pyPath)
      expect(yield* receiveText(auto)).toEqual(["dnuobotua", pyPath])
      expect(yield* python.line()).toMatch(/^b'\\x00/)
      yield* python.done()
    }))

  it.scopedLive("autobind: replies from our own bound socket reach the autobound sender", () =>
    Effect.gen(function*() {
      const server = yield* bound()
      const auto = yield* Datagram.createUnixDatagramSocket({ autobind: true })
      yield* auto.sendto("hi", server.at)
      const [payload, sender] = yield* receiveText(server.socket)
      expect([payload, sender]).toEqual(["hi", norm(auto.attributes.localAddress.path)])
      yield* server.socket.sendto("hello back", sender as Buffer)
      expect(yield* receiveText(auto)).toEqual(["hello back", server.at])
    }))

  it.scopedLive("a datagram longer than maxDatagramSize is MessageTooLong, and the next one is received", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound({ maxDatagramSize: 16 })
      const sender = yield* bound()
      yield* sender.socket.sendto("x".repeat(17), at)
      yield* sender.socket.sendto("y".repeat(16), at)
      expect(yield* within(Effect.flip(socket.receive), "the too-long datagram")).toMatchObject({
        _tag: "BrokenResourceError",
        reason: "MessageTooLong"
      })
      expect(yield* receiveText(socket)).toEqual(["y".repeat(16), sender.at])
      expect(yield* Effect.flip(Effect.scoped(bound({ maxDatagramSize: 0 })))).toMatchObject({
        _tag: "InvalidArgumentError"
      })
    }))

  it.scopedLive("sending to a path nobody binds is a typed per-datagram failure; the socket keeps working", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      expect(yield* Effect.flip(socket.sendto("lost", tempPath()))).toMatchObject({
        _tag: "BrokenResourceError",
        reason: "NotFound"
      })
      const stale = yield* Effect.scoped(Effect.map(bound(), (b) => b.at)) // closed: its file stays, nobody reads
      expect(fs.statSync(stale).isSocket()).toBe(true)
      expect(yield* Effect.flip(socket.sendto("lost", stale))).toMatchObject({
        _tag: "BrokenResourceError",
        reason: "ConnectionRefused"
      })
      yield* socket.sendto("still here", at)
      expect(yield* receiveText(socket)).toEqual(["still here", at])
    }))

  it.scopedLive("localMode sets the socket file's permission bits", () =>
    Effect.gen(function*() {
      for (const mode of [0o600, 0o640, 0o666]) {
        const { at } = yield* bound({ localMode: mode })
        expect(fs.statSync(at).mode & 0o777).toBe(mode)
      }
    }))

  it.scopedLive("a stale socket file is replaced; a live socket or a regular file is AddressInUse and untouched", () =>
    Effect.gen(function*() {
      const at = tempPath()
      yield* Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: at }))
      expect(fs.statSync(at).isSocket()).toBe(true) // stale now
      const socket = yield* Datagram.createUnixDatagramSocket({ localPath: at })
      const taken = yield* Effect.flip(Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: at })))
      expect(taken).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      yield* socket.sendto("live", at) // the live socket's file is still its own
      expect(yield* receiveText(socket)).toEqual(["live", at])
      const file = tempPath("file")
      fs.writeFileSync(file, "keep me")
      const regular = yield* Effect.flip(Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: file })))
      expect(regular).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      expect(fs.readFileSync(file, "utf8")).toBe("keep me")
    }))

  it.scopedLive("path limits: 107 bytes bind, 108 are an InvalidArgumentError before any I/O", () =>
    Effect.gen(function*() {
      const longest = `${dir}/${"p".repeat(107 - dir.length - 1)}`
      expect(Buffer.byteLength(longest)).toBe(107)
      const socket = yield* Datagram.createUnixDatagramSocket({ localPath: longest })
      expect(socket.attributes.localAddress.path).toBe(longest)
      const tooLong = `${longest}q`
      const failure = { _tag: "InvalidArgumentError" }
      expect(yield* Effect.flip(Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: tooLong }))))
        .toMatchObject(failure)
      expect(yield* Effect.flip(Effect.scoped(Datagram.createConnectedUnixDatagramSocket(tooLong)))).toMatchObject(
        failure
      )
      expect(yield* Effect.flip(socket.sendto("x", tooLong))).toMatchObject(failure)
      expect(yield* Effect.flip(socket.sendto("x", ""))).toMatchObject(failure)
      expect(fs.existsSync(tooLong)).toBe(false)
    }))

  it.scopedLive("the unnamed socket sends (its sender is null) and has localAddress path \"\"", () =>
    Effect.gen(function*() {
      const unnamed = yield* Datagram.createUnixDatagramSocket()
      expect(unnamed.attributes.localAddress).toEqual({ _tag: "UnixAddress", path: "" })
      const { at, socket } = yield* bound()
      yield* unnamed.sendto("anonymous", at)
      expect(yield* receiveText(socket)).toEqual(["anonymous", null])
    }))

  it.scopedLive("stream yields datagrams with senders and ends when the socket is closed from another fiber", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const sender = yield* bound()
      const seen = yield* Queue.unbounded<readonly [string, unknown]>()
      const running = yield* Effect.fork(
        Stream.runForEach(socket.stream, ([payload, from]) => Queue.offer(seen, [text(payload), norm(from)] as const))
      )
      for (const payload of ["one", "two", "three"]) {
        yield* sender.socket.sendto(payload, at)
        expect(yield* within(Queue.take(seen), payload)).toEqual([payload, sender.at])
      }
      yield* awaitSuspended(running)
      yield* Effect.fork(socket.close)
      expect(Exit.isSuccess(yield* within(Fiber.await(running), "the stream's end"))).toBe(true)
    }))

  it.scopedLive("an interrupted receive loses no datagram; 200 racing rounds keep every datagram once, in order", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const sender = yield* bound()
      const blocked = yield* Effect.fork(socket.receive)
      yield* awaitSuspended(blocked)
      yield* Fiber.interrupt(blocked)
      yield* sender.socket.sendto("after", at)
      expect(yield* receiveText(socket)).toEqual(["after", sender.at])

      const got: Array<string> = []
      for (let i = 0; i < 200; i++) {
        const receiving = yield* Effect.fork(socket.receive)
        if (i % 2 === 0) yield* sender.socket.sendto(String(i), at)
        for (let k = 0; k < i % 5; k++) yield* Effect.yieldNow()
        if (i % 7 === 3) yield* Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
        const exit = yield* Fiber.interrupt(receiving)
        if (Exit.isSuccess(exit)) got.push(text(exit.value[0]))
        if (i % 2 === 1) yield* sender.socket.sendto(String(i), at)
        // keep the kernel's backlog short (its queue holds few datagrams; a full one blocks the sender)
        while (i + 1 - got.length > 3) got.push((yield* receiveText(socket))[0])
      }
      // the rest wait in the kernel: drain them (bounded), then compare, so a loss shows which one
      for (let i = got.length; i < 200; i++) {
        const next = yield* Effect.timeout(socket.receive, "500 millis").pipe(Effect.option)
        if (next._tag === "None") break
        got.push(text(next.value[0]))
      }
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
    }))
})

const root = fileURLToPath(new URL("..", import.meta.url))
const noAddonScript = (work: string) => `
import { Effect } from "effect"
import { Datagram } from ${JSON.stringify(path.join(root, "src/index.ts"))}
const failure = (effect) => Effect.map(Effect.flip(Effect.scoped(effect)), (e) => ({ tag: e._tag, why: e.why }))
const main = Effect.gen(function* () {
  const unix = yield* failure(Datagram.createUnixDatagramSocket({ localPath: ${JSON.stringify(work)} + "/a.sock" }))
  const unnamed = yield* failure(Datagram.createUnixDatagramSocket())
  const connected = yield* failure(Datagram.createConnectedUnixDatagramSocket(${JSON.stringify(work)} + "/b.sock"))
  // UDP never needs the addon
  const udp = yield* Effect.scoped(Effect.gen(function* () {
    const socket = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
    yield* socket.sendto("udp ok", "127.0.0.1", socket.attributes.localAddress.port)
    return Buffer.from((yield* socket.receive)[0]).toString()
  }))
  return { unix, unnamed, connected, udp }
})
Effect.runPromise(main).then((r) => { console.log(JSON.stringify(r)); process.exit(0) },
  (e) => { console.error(e); process.exit(1) })
`

describe("without the addon", () => {
  it.live(
    "UNIX datagram constructors fail with UnsupportedError naming why; UDP still works",
    () =>
      Effect.gen(function*() {
        const work = fs.mkdtempSync(path.join(dir, "na-"))
        const stdout = yield* runWithoutAddon(noAddonScript(work))
        const unsupported = { tag: "UnsupportedError", why: expect.stringContaining("EFFECT_SOCKETS_DISABLE_ADDON") }
        expect(JSON.parse(stdout)).toEqual({
          unix: unsupported,
          unnamed: unsupported,
          connected: unsupported,
          udp: "udp ok"
        })
        expect(fs.readdirSync(work)).toEqual([])
      }),
    30_000
  )
})
