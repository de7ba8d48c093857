/**
 * UNIX datagram sockets of the Effect 4 edition (`Datagram.createUnixDatagramSocket`,
 * `Datagram.createConnectedUnixDatagramSocket`, over the native addon and the drivers both
 * editions share): the acceptance scenarios of test/unix-datagram.test.ts (G74–G78, S17), with
 * python3's AF_UNIX SOCK_DGRAM as the independent peer in both directions, datagrams longer than
 * `maxDatagramSize`, per-datagram send failures, autobind, `localMode`, the stale-file policy,
 * path limits, interrupted receives, and batched stream pulls.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Queue, Stream } from "effect"
import type { Duration } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { UnixDatagramSocket, UnixSender } from "../../src/effect4/Datagram/index.js"
import * as Datagram from "../../src/effect4/Datagram/index.js"
import { spawnPython } from "./helpers/python.js"

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es4-dg-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let unique = 0
const tempPath = (name = "d"): string => path.join(dir, `${name}${++unique}`)
const abstractName = (): string => `\0es4-dg-${crypto.randomBytes(8).toString("hex")}`
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()
const reversed = (s: string): string => [...s].reverse().join("")
/** A sender as something `toEqual` compares: bytes become a Buffer. */
const norm = (sender: UnixSender | string): unknown => (sender instanceof Uint8Array ? Buffer.from(sender) : sender)

const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string, duration: Duration.Input = "3 seconds") =>
  Effect.timeoutOrElse(effect, { duration, orElse: () => Effect.fail(new Error(`timed out: ${what}`)) })

/** Starts `effect` on a child fiber that runs at once, up to its first suspension (a parked receive). */
const started = <A, E>(effect: Effect.Effect<A, E>) => Effect.forkChild(effect, { startImmediately: true })

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

describe("UNIX datagram sockets (Effect 4 edition)", () => {
  it.live("G74/G75 attributes; sending to itself: a path comes back as text, an abstract name as bytes", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      expect(socket.attributes).toEqual({ family: "unix", localAddress: { _tag: "UnixAddress", path: at } })
      expect(fs.statSync(at).isSocket()).toBe(true)
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

  it.live("G76 echo between two bound sockets, the server iterating its stream", () =>
    Effect.gen(function*() {
      const server = yield* bound()
      const client = yield* bound()
      yield* Effect.forkScoped(server.socket.stream.pipe(
        Stream.runForEach(([packet, sender]) => server.socket.sendto(reversed(text(packet)), sender!))
      ))
      for (const [sent, expected] of [["FOOBAR", "RABOOF"], ["123456", "654321"]]) {
        yield* client.socket.sendto(sent, server.at)
        expect(yield* receiveText(client.socket)).toEqual([expected, server.at])
      }
    }))

  it.live("G77 busy, close during receive, receive and sendto after close; byte and non-UTF-8 paths", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const first = yield* started(socket.receive)
      expect(yield* Effect.flip(socket.receive)).toMatchObject({ _tag: "BusyResourceError", operation: "reading from" })
      yield* Effect.forkChild(socket.close)
      expect(yield* within(Effect.flip(Fiber.join(first)), "the blocked receive")).toMatchObject({
        _tag: "ClosedResourceError"
      })
      expect(yield* Effect.flip(socket.receive)).toMatchObject({ _tag: "ClosedResourceError" })
      expect(yield* Effect.flip(socket.sendto("x", at))).toMatchObject({ _tag: "ClosedResourceError" })
      yield* socket.close // idempotent

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

  it.live("G78 connected UNIX datagram sockets: attributes, both directions, strangers refused, closing", () =>
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
      const stranger = yield* bound()
      expect(yield* Effect.flip(stranger.socket.sendto("intruder", at2))).toMatchObject({ _tag: "BrokenResourceError" })

      const first = yield* started(dg2.receive)
      expect(yield* Effect.flip(dg2.receive)).toMatchObject({ _tag: "BusyResourceError" })
      yield* Effect.forkChild(dg2.close)
      expect(yield* within(Effect.flip(Fiber.join(first)), "the blocked receive")).toMatchObject({
        _tag: "ClosedResourceError"
      })
      expect(yield* Effect.flip(dg2.send("x"))).toMatchObject({ _tag: "ClosedResourceError" })
      const missing = yield* Effect.flip(Effect.scoped(Datagram.createConnectedUnixDatagramSocket(tempPath())))
      expect(missing).toMatchObject({ _tag: "ConnectError", reason: "NotFound" })
    }))

  it.live("S17 sender forms: unbound is null, bound is its path, abstract is bytes; unnamed has path \"\"", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const unnamed = yield* Datagram.createUnixDatagramSocket()
      expect(unnamed.attributes.localAddress).toEqual({ _tag: "UnixAddress", path: "" })
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

  it.live("S17 and interop: python3 AF_UNIX senders (unbound, bound, abstract) and our replies", () =>
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

  it.live("python3 AF_UNIX echo server: unconnected, connected and autobound clients", () =>
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
      const auto = yield* Datagram.createUnixDatagramSocket({ autobind: true })
      const name = norm(auto.attributes.localAddress.path) as Buffer
      expect(Buffer.isBuffer(name) && name.length > 1 && name[0] === 0).toBe(true)
      yield* auto.sendto("autobound", pyPath)
      expect(yield* receiveText(auto)).toEqual(["dnuobotua", pyPath])
      expect(yield* python.line()).toMatch(/^b'\\x00/)
      yield* python.done()
    }))

  it.live("a datagram longer than maxDatagramSize is MessageTooLong, and the next one is received", () =>
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

  it.live("a too-long datagram inside a batch: the datagrams before it arrive, the next pull fails, then the rest", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound({ maxDatagramSize: 16 })
      const sender = yield* bound()
      for (const payload of ["a", "b", "x".repeat(17), "c"]) yield* sender.socket.sendto(payload, at)
      const pulls = yield* Queue.unbounded<ReadonlyArray<string>>()
      const running = yield* Effect.forkChild(
        socket.stream.pipe(Stream.map(([p]) => text(p)), Stream.runForEachArray((batch) => Queue.offer(pulls, batch)))
      )
      expect(yield* within(Queue.take(pulls), "the datagrams before the long one")).toEqual(["a", "b"])
      const exit = yield* within(Fiber.await(running), "the stream's failure")
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("MessageTooLong")
      expect(yield* receiveText(socket)).toEqual(["c", sender.at])
    }))

  it.live("per-datagram send failures (nobody bound, stale file), localMode, stale replacement, AddressInUse", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      expect(yield* Effect.flip(socket.sendto("lost", tempPath()))).toMatchObject({
        _tag: "BrokenResourceError",
        reason: "NotFound"
      })
      const stale = yield* Effect.scoped(Effect.map(bound(), (b) => b.at))
      expect(fs.statSync(stale).isSocket()).toBe(true)
      expect(yield* Effect.flip(socket.sendto("lost", stale))).toMatchObject({
        _tag: "BrokenResourceError",
        reason: "ConnectionRefused"
      })
      yield* socket.sendto("still here", at)
      expect(yield* receiveText(socket)).toEqual(["still here", at])

      for (const mode of [0o600, 0o640]) {
        expect(fs.statSync((yield* bound({ localMode: mode })).at).mode & 0o777).toBe(mode)
      }
      const replaced = yield* Datagram.createUnixDatagramSocket({ localPath: stale })
      expect(replaced.attributes.localAddress.path).toBe(stale)
      const taken = yield* Effect.flip(Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: stale })))
      expect(taken).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      const file = tempPath("file")
      fs.writeFileSync(file, "keep me")
      const regular = yield* Effect.flip(Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: file })))
      expect(regular).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      expect(fs.readFileSync(file, "utf8")).toBe("keep me")
    }))

  it.live("path limits: 107 bytes bind, 108 are an InvalidArgumentError before any I/O", () =>
    Effect.gen(function*() {
      const longest = `${dir}/${"p".repeat(107 - dir.length - 1)}`
      const socket = yield* Datagram.createUnixDatagramSocket({ localPath: longest })
      expect(socket.attributes.localAddress.path).toBe(longest)
      const tooLong = `${longest}q`
      const failure = { _tag: "InvalidArgumentError" }
      expect(yield* Effect.flip(Effect.scoped(Datagram.createUnixDatagramSocket({ localPath: tooLong }))))
        .toMatchObject(failure)
      expect(yield* Effect.flip(Effect.scoped(Datagram.createConnectedUnixDatagramSocket(tooLong))))
        .toMatchObject(failure)
      expect(yield* Effect.flip(socket.sendto("x", tooLong))).toMatchObject(failure)
      expect(yield* Effect.flip(socket.sendto("x", ""))).toMatchObject(failure)
      expect(fs.existsSync(tooLong)).toBe(false)
    }))

  it.live("the stream pulls waiting datagrams as one batch, and ends when the socket is closed from another fiber", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const sender = yield* bound()
      // fewer than the kernel's queue holds (net.unix.max_dgram_qlen, 10 by default): no sender blocks
      yield* within(
        Effect.forEach(Array.from({ length: 8 }, (_, i) => String(i)), (n) => sender.socket.sendto(n, at)),
        "8 sends"
      )
      const pulls = yield* Queue.unbounded<ReadonlyArray<readonly [string, unknown]>>()
      const running = yield* Effect.forkChild(
        socket.stream.pipe(
          Stream.map(([payload, from]) => [text(payload), norm(from)] as const),
          Stream.runForEachArray((batch) => Queue.offer(pulls, batch))
        )
      )
      expect(yield* within(Queue.take(pulls), "the first batch")).toEqual(
        Array.from({ length: 8 }, (_, i) => [String(i), sender.at])
      )
      yield* sender.socket.sendto("alone", at)
      expect(yield* within(Queue.take(pulls), "the next batch")).toEqual([["alone", sender.at]])
      yield* Effect.forkChild(socket.close)
      expect(Exit.isSuccess(yield* within(Fiber.await(running), "the stream's end"))).toBe(true)
    }))

  it.live("an interrupted receive loses no datagram; 200 racing rounds keep every datagram once, in order", () =>
    Effect.gen(function*() {
      const { at, socket } = yield* bound()
      const sender = yield* bound()
      const blocked = yield* started(socket.receive)
      yield* Fiber.interrupt(blocked)
      yield* sender.socket.sendto("after", at)
      expect(yield* receiveText(socket)).toEqual(["after", sender.at])

      const got: Array<string> = []
      for (let i = 0; i < 200; i++) {
        const receiving = yield* Effect.forkChild(socket.receive)
        if (i % 2 === 0) yield* sender.socket.sendto(String(i), at)
        for (let k = 0; k < i % 5; k++) yield* Effect.yieldNow
        if (i % 7 === 3) yield* Effect.callback<void>((resume) => void setImmediate(() => resume(Effect.void)))
        yield* Fiber.interrupt(receiving)
        const exit = yield* Fiber.await(receiving)
        if (Exit.isSuccess(exit)) got.push(text(exit.value[0]))
        if (i % 2 === 1) yield* sender.socket.sendto(String(i), at)
        // keep the kernel's backlog short (its queue holds few datagrams; a full one blocks the sender)
        while (i + 1 - got.length > 3) got.push((yield* receiveText(socket))[0])
      }
      for (let i = got.length; i < 200; i++) {
        const next = yield* Effect.timeoutOption(socket.receive, "500 millis")
        if (next._tag === "None") break
        got.push(text(next.value[0]))
      }
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
    }))
})
