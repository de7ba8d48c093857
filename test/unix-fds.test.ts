/**
 * File-descriptor passing on UnixStream (`sendFds`, `receiveFds`): conformance C45–C48,
 * decisions S9–S11, python3's `socket.send_fds`/`socket.recv_fds` as the independent peer in
 * both directions (file fds and connected-socket fds that then carry data), every accepted fd
 * form (number, FileHandle, net.Socket, our own UnixStream), AnyIO's fd-passing example flow,
 * fd accounting over 10,000 cycles, interruption, and the `node:net` fallback without the addon
 * (EFFECT_SOCKETS_DISABLE_ADDON=1, in a child process: the addon cache is module state). The raw
 * addon is tested in addon.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Queue } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Listener, Socket } from "../src/index.js"
import { runWithoutAddon } from "./helpers/noAddon.js"
import { spawnPython } from "./helpers/python.js"
import { awaitSuspended } from "./helpers/rawPeers.js"
import { openFds, RawPeer } from "./helpers/resources.js"

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let unique = 0
const tempPath = (name = "s"): string => path.join(dir, `${name}${++unique}`)
const tempFile = (contents: string): string => {
  const file = tempPath("file")
  fs.writeFileSync(file, contents)
  return file
}
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

/** The file's contents through `fd`, from offset 0 (a passed fd shares its file position). */
const contentsOf = (fd: number): string => {
  const buffer = Buffer.alloc(256)
  return buffer.toString("utf8", 0, fs.readSync(fd, buffer, 0, buffer.length, 0))
}
const isCloexec = (fd: number): boolean => {
  const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))
  return flags !== null && (parseInt(flags[1]!, 8) & 0o2000000) !== 0
}
const closeAll = (fds: ReadonlyArray<number>) => Effect.sync(() => fds.forEach((fd) => fs.closeSync(fd)))

/** A file opened for reading, closed when the scope closes. */
const openFile = (file: string) =>
  Effect.acquireRelease(Effect.sync(() => fs.openSync(file, "r")), (fd) => Effect.sync(() => fs.closeSync(fd)))
const openHandle = (file: string) =>
  Effect.acquireRelease(
    Effect.promise(() => fs.promises.open(file, "r")),
    (handle) => Effect.promise(() => handle.close())
  )

/** A listener on a fresh path. */
const listen = Effect.gen(function*() {
  const at = tempPath()
  return { at, listener: yield* Listener.createUnixListener(at) }
})

/** Two connected UnixStreams (client and accepted), both owned by the test's scope. */
const pair = Effect.gen(function*() {
  const { at, listener } = yield* listen
  const client = yield* Socket.connectUnix(at)
  return { client, server: yield* listener.accept }
})

/** A connected `net.Socket` and its raw server-side end, both destroyed with the scope. */
const netSocketPair = Effect.gen(function*() {
  const at = tempPath()
  const accepted = yield* Queue.unbounded<net.Socket>()
  const server = yield* Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const server = net.createServer((socket) => Queue.unsafeOffer(accepted, socket))
      server.listen({ path: at }, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )
  const client = yield* Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const socket = net.connect({ path: at }, () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )
  const peer = new RawPeer(yield* Queue.take(accepted).pipe(Effect.timeout("2 seconds")))
  yield* Effect.addFinalizer(() => Effect.sync(() => peer.socket.destroy()))
  return { server, client, peer }
})

const py = {
  /** Receives one message with fds; reads each file fd, writes "through fd <i>" on each socket fd. */
  receiver: String.raw`
import json, os, socket, stat, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
msg, fds, flags, addr = socket.recv_fds(s, 1024, 8)
items = []
for i, fd in enumerate(fds):
    if stat.S_ISSOCK(os.fstat(fd).st_mode):
        c = socket.socket(fileno=fd); c.sendall(("through fd %d" % i).encode()); c.close(); items.append("socket")
    else:
        items.append(os.pread(fd, 100, 0).decode()); os.close(fd)
print(json.dumps({"msg": msg.decode(), "items": items, "ctrunc": bool(flags & socket.MSG_CTRUNC)}))`,
  /** C45: sends "test" with the fds of the files named in argv[2:]. */
  fileSender: String.raw`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
files = [open(name, "rb") for name in sys.argv[2:]]
socket.send_fds(s, [b"test"], [f.fileno() for f in files])
for f in files: f.close()
s.close()`,
  /** Sends one end of a socketpair, writes through the other, prints what comes back. */
  socketSender: String.raw`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
a, b = socket.socketpair()
socket.send_fds(s, [b"sock"], [a.fileno()]); a.close()
b.sendall(b"from python"); print(b.recv(100).decode()); b.close(); s.close()`
}

describe("receiving fds (python3 sends)", () => {
  it.scopedLive("C45 receiveFds(10, 2) gets \"test\" and two file fds, in order; S11 they are close-on-exec", () =>
    Effect.gen(function*() {
      const { at, listener } = yield* listen
      const sender = yield* spawnPython(py.fileSender, [at, tempFile("Hello, "), tempFile("World!")])
      const client = yield* listener.accept
      const [message, fds] = yield* client.receiveFds(10, 2)
      yield* Effect.addFinalizer(() => closeAll(fds))
      expect(text(message)).toBe("test")
      expect(fds).toHaveLength(2)
      expect(fds.map(contentsOf).join("")).toBe("Hello, World!")
      expect(fds.every(isCloexec)).toBe(true)
      yield* sender.done()
    }))

  it.scopedLive("a passed socket fd carries data both ways", () =>
    Effect.gen(function*() {
      const { at, listener } = yield* listen
      const sender = yield* spawnPython(py.socketSender, [at])
      const client = yield* listener.accept
      const [message, [fd, ...rest]] = yield* client.receiveFds(16, 1)
      expect([text(message), rest]).toEqual(["sock", []])
      expect(isCloexec(fd!)).toBe(true)
      const peer = new RawPeer(new net.Socket({ fd: fd!, readable: true, writable: true }))
      yield* Effect.addFinalizer(() => Effect.sync(() => peer.socket.destroy()))
      expect((yield* peer.receiveAtLeast(11)).toString()).toBe("from python")
      yield* peer.write("from node")
      expect((yield* sender.done()).trim()).toBe("from node")
    }))
})

describe("sending fds (python3 receives)", () => {
  it.scopedLive("C47 sendFds(\"test\", [FileHandle, number]): python reads \"Hello, \" and \"World!\"", () =>
    Effect.gen(function*() {
      const { at, listener } = yield* listen
      const receiver = yield* spawnPython(py.receiver, [at])
      const client = yield* listener.accept
      const first = yield* openHandle(tempFile("Hello, "))
      const second = yield* openFile(tempFile("World!"))
      yield* client.sendFds("test", [first, second])
      expect(JSON.parse(yield* receiver.done())).toEqual({ msg: "test", items: ["Hello, ", "World!"], ctrunc: false })
    }))

  it.scopedLive("a net.Socket and one of our UnixStreams, passed to python, carry its data to their peers", () =>
    Effect.gen(function*() {
      const { at, listener } = yield* listen
      const receiver = yield* spawnPython(py.receiver, [at])
      const client = yield* listener.accept
      const viaNet = yield* netSocketPair
      const viaOurs = yield* pair
      yield* client.sendFds("sockets", [viaNet.client, viaOurs.client])
      expect(JSON.parse(yield* receiver.done())).toEqual({ msg: "sockets", items: ["socket", "socket"], ctrunc: false })
      expect((yield* viaNet.peer.receiveAtLeast(12)).toString()).toBe("through fd 0")
      expect(text(yield* viaOurs.server.receive())).toBe("through fd 1")
    }))
})

describe("argument rules", () => {
  it.scopedLive("C46 and S10: msglen must be >= 1 (0 included), maxfds a positive integer; checked before any I/O", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      yield* client.send("data")
      for (
        const [msglen, maxfds, argument] of [
          [-1, 1, "msglen"],
          [1.5, 1, "msglen"],
          [0, 1, "msglen"],
          [1, 0, "maxfds"],
          [1, 1.5, "maxfds"]
        ] as const
      ) {
        expect(yield* Effect.flip(server.receiveFds(msglen, maxfds))).toMatchObject({
          _tag: "InvalidArgumentError",
          argument
        })
      }
      expect(text(yield* server.receive())).toBe("data")
    }))

  it.scopedLive("C48 an empty message or an empty fd list is an argument error", () =>
    Effect.gen(function*() {
      const { client } = yield* pair
      const fd = yield* openFile(tempFile("x"))
      expect(yield* Effect.flip(client.sendFds("", [fd]))).toMatchObject({
        _tag: "InvalidArgumentError",
        argument: "message"
      })
      expect(yield* Effect.flip(client.sendFds(new Uint8Array(0), [fd]))).toMatchObject({ argument: "message" })
      expect(yield* Effect.flip(client.sendFds("x", []))).toMatchObject({
        _tag: "InvalidArgumentError",
        argument: "fds"
      })
    }))

  it.scopedLive("S9 anything that is not an open fd is an argument error, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const valid = yield* openFile(tempFile("x"))
      const closedHandle = yield* Effect.promise(() => fs.promises.open(tempFile("y"), "r"))
      yield* Effect.promise(() => closedHandle.close())
      const closedStream = yield* Effect.scoped(Effect.map(pair, ({ client }) => client))
      const unsupported: ReadonlyArray<unknown> = [
        {},
        "3",
        { fd: "3" },
        -1,
        1.5,
        null,
        99_999,
        new net.Socket(),
        closedHandle,
        closedStream,
        Symbol("fd")
      ]
      for (const value of unsupported) {
        const fds = [valid, value] as unknown as ReadonlyArray<number>
        expect(yield* Effect.flip(client.sendFds("x", fds)), String(value)).toMatchObject({
          _tag: "InvalidArgumentError"
        })
      }
      yield* client.send("ok")
      const [message, fds] = yield* server.receiveFds(16, 4)
      expect([text(message), fds]).toEqual(["ok", []])
    }))
})

describe("S11 ownership of received fds", () => {
  it.scopedLive("S11 received fds are close-on-exec, even when the sent fd is inheritable", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      // The flag belongs to each descriptor, not to the file: the receiver must set it. Node opens
      // files close-on-exec, so an inheritable fd (stdin/stdout/stderr) is sent too.
      const inheritable = [0, 1, 2].filter((fd) => !isCloexec(fd))
      yield* client.sendFds("several", [yield* openFile(tempFile("cloexec")), ...inheritable])
      const [, fds] = yield* server.receiveFds(16, 4)
      yield* Effect.addFinalizer(() => closeAll(fds))
      expect(fds).toHaveLength(1 + inheritable.length)
      expect(contentsOf(fds[0]!)).toBe("cloexec")
      expect(fds.map(isCloexec)).toEqual(fds.map(() => true))
    }))

  it.scopedLive("S11 MSG_CTRUNC (3 fds sent, maxfds 1): MessageTooLong, the arrived fd is closed, the stream still works", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const fd = yield* openFile(tempFile("three"))
      const baseline = openFds()
      yield* client.sendFds("three", [fd, fd, fd])
      const error = yield* Effect.flip(server.receiveFds(16, 1))
      expect(error).toMatchObject({ _tag: "BrokenResourceError", reason: "MessageTooLong" })
      expect(openFds()).toBe(baseline)
      // Usable afterwards: a plain message, then a message with an fd.
      yield* client.send("after")
      let seen = ""
      for (let i = 0; i < 10 && !seen.endsWith("after"); i++) seen += text(yield* server.receive())
      expect(seen.endsWith("after")).toBe(true)
      yield* client.sendFds("one", [fd])
      const [message, fds] = yield* server.receiveFds(16, 1)
      expect([text(message), fds.map(contentsOf)]).toEqual(["one", ["three"]])
      yield* closeAll(fds)
      expect(openFds()).toBe(baseline)
    }))
})

describe("AnyIO's fd-passing example", () => {
  it.scopedLive("the server sends a file's fd with \"this message is ignored\"; the client prints the file", () =>
    Effect.gen(function*() {
      const file = tempFile("Test file")
      const { at, listener } = yield* listen
      yield* Effect.forkScoped(
        listener.serve((client) =>
          Effect.flatMap(openHandle(file), (handle) => client.sendFds("this message is ignored", [handle]))
        )
      )
      const client = yield* Socket.connectUnix(at)
      const [message, fds] = yield* client.receiveFds(1024, 1)
      yield* Effect.addFinalizer(() => closeAll(fds))
      expect(text(message)).toBe("this message is ignored")
      expect(fds.map(contentsOf)).toEqual(["Test file"])
      // The handler ended: its stream is closed, nothing more comes.
      expect((yield* Effect.flip(client.receiveFds(1024, 1)))._tag).toBe("EndOfStream")
    }))
})

describe("fd accounting", () => {
  it.scopedLive(
    "10,000 sendFds/receiveFds cycles leave the open fd count where it started",
    () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair
        const fd = yield* openFile(tempFile("cycle"))
        const before = openFds()
        const started = Date.now()
        let received = 0
        for (let i = 0; i < 10_000; i++) {
          yield* client.sendFds("x", [fd])
          const [, fds] = yield* server.receiveFds(1, 1)
          received += fds.length
          yield* closeAll(fds)
        }
        const after = openFds()
        console.log(
          `10,000 sendFds/receiveFds cycles: ${received} fds received, open fds before ${before}, after ${after} (${
            Date.now() - started
          } ms)`
        )
        expect(received).toBe(10_000)
        expect(after).toBe(before)
      }),
    20_000
  )

  it.scopedLive("an interrupted blocked receiveFds loses nothing: the next one gets the message and its fd", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const fd = yield* openFile(tempFile("later"))
      const baseline = openFds()
      const blocked = yield* Effect.fork(server.receiveFds(16, 4))
      yield* awaitSuspended(blocked)
      yield* Fiber.interrupt(blocked)
      yield* client.sendFds("later", [fd])
      const [message, fds] = yield* server.receiveFds(16, 4)
      expect([text(message), fds.map(contentsOf)]).toEqual(["later", ["later"]])
      yield* closeAll(fds)
      expect(openFds()).toBe(baseline)
    }))

  it.scopedLive("receiveFds interrupted at every point of the race loses no message and leaks no fd", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const fd = yield* openFile(tempFile("race"))
      const baseline = openFds()
      const count = 300
      const bytes: Array<number> = []
      const fds: Array<number> = []
      const take = ([message, got]: readonly [Uint8Array, ReadonlyArray<number>]) => {
        bytes.push(...message)
        fds.push(...got)
      }
      for (let i = 0; i < count; i++) {
        const receiving = yield* Effect.fork(server.receiveFds(1, 4))
        yield* client.sendFds(Buffer.from([i % 256]), [fd])
        for (let k = 0; k < i % 4; k++) yield* Effect.yieldNow()
        const exit = yield* Fiber.interrupt(receiving)
        if (Exit.isSuccess(exit)) take(exit.value)
      }
      for (let i = 0; i < count && bytes.length < count; i++) {
        take(yield* Effect.timeout(server.receiveFds(1, 4), "2 seconds"))
      }
      expect(bytes).toEqual(Array.from({ length: count }, (_, i) => i % 256))
      expect(fds).toHaveLength(count)
      yield* closeAll(fds)
      expect(openFds()).toBe(baseline)
    }))

  it.scopedLive("fds a stream never hands out are closed with it", () =>
    Effect.gen(function*() {
      const fd = yield* openFile(tempFile("unreceived"))
      const baseline = openFds()
      yield* Effect.scoped(Effect.gen(function*() {
        const { client, server } = yield* pair
        for (let i = 0; i < 5; i++) yield* client.sendFds("u", [fd])
        const [, first] = yield* server.receiveFds(1, 4) // takes one of five
        yield* closeAll(first)
        expect(openFds()).toBe(baseline + 3) // listener, client, server
        // Interrupted receives: whatever one took from the kernel stays with the stream.
        for (let i = 0; i < 50; i++) {
          const receiving = yield* Effect.fork(server.receiveFds(1, 4))
          yield* client.sendFds("v", [fd])
          for (let k = 0; k < i % 4; k++) yield* Effect.yieldNow()
          const exit = yield* Fiber.interrupt(receiving)
          if (Exit.isSuccess(exit)) yield* closeAll(exit.value[1])
        }
      }))
      expect(openFds()).toBe(baseline)
      // And from an independent sender that exits: nothing it sent stays open here.
      const { at, listener } = yield* listen
      yield* Effect.scoped(Effect.gen(function*() {
        const sender = yield* spawnPython(py.fileSender, [at, tempFile("a"), tempFile("b")])
        const client = yield* listener.accept
        yield* sender.done()
        expect(text(yield* client.receive(1))).toBe("t") // a plain receive: the kernel drops the fds
        yield* client.close
      }))
      expect(openFds()).toBe(baseline + 1) // the second listener
    }))
})

const root = fileURLToPath(new URL("..", import.meta.url))
const fallbackScript = (work: string) => `
import { Effect } from "effect"
import * as fs from "node:fs"
import { Listener, Socket } from ${JSON.stringify(path.join(root, "src/index.ts"))}
const dir = ${JSON.stringify(work)}
const failure = (effect) => Effect.map(Effect.flip(Effect.scoped(effect)), (e) => ({ tag: e._tag, reason: e.reason, why: e.why }))
const main = Effect.scoped(Effect.gen(function* () {
  const at = dir + "/fallback.sock"
  const listener = yield* Listener.createUnixListener(at, { unlinkOnClose: true })
  yield* Effect.forkScoped(listener.serve((s) => Effect.flatMap(s.receive(), (b) => s.send(b))))
  const client = yield* Socket.connectUnix(at)
  yield* client.send("ping")
  const echoed = Buffer.from(yield* client.receive()).toString()
  fs.writeFileSync(dir + "/regular", "x")
  return {
    echoed, family: client.attributes.family, remote: client.attributes.remoteAddress,
    sendFds: yield* failure(client.sendFds("x", [0])),
    receiveFds: yield* failure(client.receiveFds(1, 1)),
    mode: yield* failure(Listener.createUnixListener(dir + "/mode.sock", { mode: 0o600 })),
    regular: yield* failure(Listener.createUnixListener(dir + "/regular")),
    missing: yield* failure(Socket.connectUnix(dir + "/missing.sock"))
  }
}))
Effect.runPromise(main).then((r) => { console.log(JSON.stringify({ ...r, unlinked: !fs.existsSync(dir + "/fallback.sock") })); process.exit(0) },
  (e) => { console.error(e); process.exit(1) })
`

describe("node:net fallback", () => {
  it.live(
    "without the addon: connect, round trip, listener, stale-file policy; fd passing and mode are Unsupported",
    () =>
      Effect.gen(function*() {
        const work = fs.mkdtempSync(path.join(dir, "fb-"))
        const stdout = yield* runWithoutAddon(fallbackScript(work))
        const unsupported = { tag: "UnsupportedError", why: expect.stringContaining("EFFECT_SOCKETS_DISABLE_ADDON") }
        expect(JSON.parse(stdout)).toEqual({
          echoed: "ping",
          family: "unix",
          remote: { _tag: "UnixAddress", path: `${work}/fallback.sock` },
          sendFds: unsupported,
          receiveFds: unsupported,
          mode: { tag: "UnsupportedError", why: expect.stringContaining("EFFECT_SOCKETS_DISABLE_ADDON") },
          regular: { tag: "ListenError", reason: "AddressInUse" },
          missing: { tag: "ConnectError", reason: "NotFound" },
          unlinked: true
        })
      }),
    30_000
  )
})
