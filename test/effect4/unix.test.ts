/**
 * The Effect 4 edition's UNIX stream sockets with the addon: connect/listen, attributes and
 * peer credentials, the stale-socket rule, and fd passing both ways (with our own streams and
 * with python3's `socket.send_fds`/`recv_fds` as the independent peer).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Listener, Socket } from "../../src/effect4/index.js"
import { runPython } from "./helpers/python.js"

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es4-unix-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const tempFile = (dir: string, name: string, contents: string): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, contents)
  return file
}

describe("UNIX streams (Effect 4)", () => {
  it.effect("connects to a listener; both ends see their addresses and the peer's credentials", () =>
    Effect.gen(function*() {
      const at = path.join(yield* tempDir, "s.sock")
      const listener = yield* Listener.createUnixListener(at)
      expect(listener.addresses).toEqual([{ _tag: "UnixAddress", path: at }])
      const client = yield* Socket.connectUnix(at)
      const server = yield* listener.accept
      expect(client.attributes.family).toBe("unix")
      expect(client.attributes.remoteAddress).toEqual({ _tag: "UnixAddress", path: at })
      expect(server.attributes.peerCredentials).toMatchObject({ pid: process.pid, uid: process.getuid!() })
      yield* client.send("over unix")
      yield* client.sendEof
      expect(text(yield* server.receive())).toBe("over unix")
      expect((yield* Effect.flip(server.receive()))._tag).toBe("EndOfStream")
    }))

  it.effect("a stale socket file is replaced; a live one is AddressInUse; a missing one is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const at = path.join(dir, "stale.sock")
      yield* Effect.scoped(Listener.createUnixListener(at))
      expect(fs.existsSync(at)).toBe(true) // unlinkOnClose is off by default: the file is stale now
      const listener = yield* Listener.createUnixListener(at)
      const live = yield* Effect.flip(Listener.createUnixListener(at))
      expect(live).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      yield* listener.close
      const missing = yield* Effect.flip(Socket.connectUnix(path.join(dir, "nobody.sock")))
      expect(missing).toMatchObject({ _tag: "ConnectError", reason: "NotFound" })
      const tooLong = yield* Effect.flip(Socket.connectUnix(`/tmp/${"x".repeat(120)}`))
      expect(tooLong).toMatchObject({ _tag: "InvalidArgumentError", argument: "path" })
    }))

  it.effect("passes a file's fd between our own streams; the receiver reads the file through it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const at = path.join(dir, "fds.sock")
      const listener = yield* Listener.createUnixListener(at)
      const client = yield* Socket.connectUnix(at)
      const server = yield* listener.accept
      const file = fs.openSync(tempFile(dir, "a.txt", "file contents"), "r")
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.closeSync(file)))
      yield* client.sendFds("fd", [file])
      const [message, fds] = yield* server.receiveFds(10, 4)
      yield* Effect.addFinalizer(() => Effect.sync(() => fds.forEach((fd) => fs.closeSync(fd))))
      expect(text(message)).toBe("fd")
      expect(fds).toHaveLength(1)
      expect(fds[0]).not.toBe(file)
      expect(fs.readFileSync(fds[0]!, "utf8")).toBe("file contents")
      const empty = yield* Effect.flip(client.sendFds("", [file]))
      expect(empty).toMatchObject({ _tag: "InvalidArgumentError", argument: "message" })
      const notFd = yield* Effect.flip(client.sendFds("x", [-1]))
      expect(notFd).toMatchObject({ _tag: "InvalidArgumentError", argument: "fds[0]" })
    }))

  it.effect("receives two file fds from python3's send_fds, in order", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const at = path.join(dir, "py.sock")
      const listener = yield* Listener.createUnixListener(at)
      const script = [
        "import socket, sys",
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])",
        "files = [open(name, 'rb') for name in sys.argv[2:]]",
        "socket.send_fds(s, [b'test'], [f.fileno() for f in files])",
        "s.close()"
      ].join("\n")
      const sender = yield* Effect.forkChild(
        runPython(script, [at, tempFile(dir, "h", "Hello, "), tempFile(dir, "w", "World!")])
      )
      const server = yield* listener.accept
      const [message, fds] = yield* server.receiveFds(10, 2)
      yield* Effect.addFinalizer(() => Effect.sync(() => fds.forEach((fd) => fs.closeSync(fd))))
      expect(text(message)).toBe("test")
      expect(fds.map((fd) => fs.readFileSync(fd, "utf8")).join("")).toBe("Hello, World!")
      yield* Fiber.join(sender)
    }))

  it.effect("sends a socket's fd to python3, which talks through it to our raw peer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const at = path.join(dir, "py2.sock")
      const listener = yield* Listener.createUnixListener(at)
      const script = [
        "import socket, sys",
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])",
        "msg, fds, flags, addr = socket.recv_fds(s, 10, 1)",
        "c = socket.socket(fileno=fds[0]); c.sendall(b'through the fd'); c.close()",
        "print(msg.decode())"
      ].join("\n")
      const receiver = yield* Effect.forkChild(runPython(script, [at]))
      const server = yield* listener.accept
      // A connected pair of sockets made by Node itself: python writes through one end.
      const pairAt = path.join(dir, "pair.sock")
      const inner = yield* Listener.createUnixListener(pairAt)
      const near = yield* Socket.connectUnix(pairAt)
      const far = yield* inner.accept
      yield* server.sendFds("sock", [near])
      yield* near.close
      expect((yield* Fiber.join(receiver)).trim()).toBe("sock")
      expect(text(yield* far.receive())).toBe("through the fd")
    }))
})
