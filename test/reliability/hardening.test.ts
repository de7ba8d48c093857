/**
 * Hardening (issue #12): the stale-socket probe never removes a live socket (of either type)
 * and never acts on a path it could not probe; non-UTF-8 byte paths are probed and described
 * by their bytes; filesystem errors at the path are ListenErrors; `mode` and `backlog` are
 * checked before any I/O; EMFILE while creating UNIX sockets is typed, and a failed addon load
 * under EMFILE is retried; `sendFds` refuses what the kernel would (more than SCM_MAX_FD fds,
 * fd numbers outside the int range) before any I/O; on MSG_CTRUNC the message's bytes stay
 * readable. Real sockets, python3 as the independent peer. The same rules as another user:
 * permissions.test.ts.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Datagram, Listener, Socket } from "../../src/index.js"
import { spawnPython } from "../helpers/python.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-hard-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let unique = 0
const tempPath = (name = "s") => path.join(dir, `${name}${++unique}`)
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString()
const inode = (at: string | Buffer) => fs.lstatSync(at).ino

/** A datagram socket bound at `at` that receives one datagram (proof it is still the one bound). */
const receivesAt = (socket: Datagram.UnixDatagramSocket, at: string) =>
  Effect.gen(function*() {
    const sender = yield* Datagram.createUnixDatagramSocket()
    yield* sender.sendto("still here", at)
    const [payload] = yield* socket.receive
    return text(payload)
  })

describe("hardening: the stale-socket probe never removes a live socket", () => {
  it.scopedLive("a stream listener over a live datagram socket: AddressInUse, the datagram socket untouched", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const socket = yield* Datagram.createUnixDatagramSocket({ localPath: at })
      const before = inode(at)
      const error = yield* Effect.flip(Listener.createUnixListener(at))
      expect(error).toMatchObject({ _tag: "ListenError", reason: "AddressInUse", address: at })
      expect(inode(at)).toBe(before)
      expect(yield* receivesAt(socket, at)).toBe("still here")
    }))

  it.scopedLive("a datagram socket over a live stream listener: AddressInUse, the listener still accepts", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      const error = yield* Effect.flip(Datagram.createUnixDatagramSocket({ localPath: at }))
      expect(error).toMatchObject({ _tag: "ListenError", reason: "AddressInUse", address: at })
      const [client, server] = yield* Effect.zip(Socket.connectUnix(at), listener.accept, { concurrent: true })
      yield* client.send("hi")
      expect(text(yield* server.receive())).toBe("hi")
    }))

  it.scopedLive("a datagram socket over a live, connected datagram socket (python's; a probe gets EPERM): AddressInUse, python still receives from its peer", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const peerAt = tempPath()
      const peer = yield* spawnPython(
        `import socket, sys
p = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); p.bind(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.connect(sys.argv[2])
p.connect(sys.argv[1]); print("ready")
import time; time.sleep(0.5)
p.send(b"still here"); print(s.recv(100).decode())`,
        [at, peerAt]
      )
      expect(yield* peer.line()).toBe("ready")
      const error = yield* Effect.flip(Datagram.createUnixDatagramSocket({ localPath: at }))
      expect(error).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      expect(yield* peer.line()).toBe("still here")
    }))

  it.scopedLive("a stream listener over a live, connected datagram socket (python's): AddressInUse", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const peer = yield* spawnPython(
        `import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print("ready"); time.sleep(30)`,
        [at]
      )
      expect(yield* peer.line()).toBe("ready")
      const before = inode(at)
      const error = yield* Effect.flip(Listener.createUnixListener(at))
      expect(error).toMatchObject({ _tag: "ListenError", reason: "AddressInUse" })
      expect(inode(at)).toBe(before)
    }))

  it.scopedLive("a stale socket file of either type is still replaced by either", () =>
    Effect.gen(function*() {
      for (const [first, second] of [["dgram", "stream"], ["stream", "dgram"], ["dgram", "dgram"]] as const) {
        const at = tempPath()
        yield* Effect.scoped(
          first === "dgram"
            ? Effect.asVoid(Datagram.createUnixDatagramSocket({ localPath: at }))
            : Effect.asVoid(Listener.createUnixListener(at))
        )
        expect(fs.lstatSync(at).isSocket()).toBe(true)
        if (second === "stream") {
          const listener = yield* Listener.createUnixListener(at)
          const [client] = yield* Effect.zip(Socket.connectUnix(at), listener.accept, { concurrent: true })
          yield* client.close
        } else {
          const socket = yield* Datagram.createUnixDatagramSocket({ localPath: at })
          expect(yield* receivesAt(socket, at)).toBe("still here")
        }
      }
    }))
})

describe("hardening: non-UTF-8 byte paths", () => {
  it.scopedLive("a live python listener at a non-UTF-8 path is probed by its bytes: AddressInUse, shown escaped", () =>
    Effect.gen(function*() {
      const at = Buffer.concat([Buffer.from(`${dir}/b\\`), Buffer.from([0xff, 0x0a, 0x41])])
      const peer = yield* spawnPython(
        `import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(os.fsencode(sys.argv[1]) + b"\\\\\\xff\\nA"); s.listen(); print("ready")
while True:
    c, _ = s.accept(); data = c.recv(100)
    if data: print(data.decode())`,
        [`${dir}/b`]
      )
      expect(yield* peer.line()).toBe("ready")
      const error = yield* Effect.flip(Listener.createUnixListener(at))
      expect(error).toMatchObject({ _tag: "ListenError", reason: "AddressInUse", address: `${dir}/b\\\\\\xff\\x0aA` })
      // Still python's: it accepts our connection (the probe's connection came with no data).
      const client = yield* Socket.connectUnix(at)
      yield* client.send("mine")
      expect(yield* peer.line()).toBe("mine")
    }))
})

describe("hardening: filesystem errors at the path are ListenErrors", () => {
  it.scopedLive("ENOTDIR and ELOOP while looking at the path: ListenError, for listeners and datagram sockets", () =>
    Effect.gen(function*() {
      const file = tempPath("file")
      fs.writeFileSync(file, "")
      const loop = tempPath("loop")
      fs.symlinkSync(loop, loop)
      for (const at of [path.join(file, "s"), path.join(loop, "s")]) {
        const listen = yield* Effect.exit(Listener.createUnixListener(at))
        const datagram = yield* Effect.exit(Datagram.createUnixDatagramSocket({ localPath: at }))
        for (const exit of [listen, datagram]) {
          expect(exit._tag).toBe("Failure")
          if (exit._tag === "Failure") {
            expect(exit.cause._tag).toBe("Fail")
            expect(exit.cause).toMatchObject({ error: { _tag: "ListenError", address: at } })
          }
        }
      }
    }))
})

describe("hardening: mode and backlog are checked before any I/O", () => {
  const badModes = [-1, 0o10000, 1.5, NaN, "0600"]
  const badBacklogs = [0, -1, 1.5, 65536, 2 ** 31, 1e20]
  it.scoped("an invalid mode or backlog: InvalidArgumentError, no socket file left behind", () =>
    Effect.gen(function*() {
      for (const mode of badModes) {
        const at = tempPath()
        const listener = yield* Effect.flip(Listener.createUnixListener(at, { mode: mode as number }))
        expect(listener).toMatchObject({ _tag: "InvalidArgumentError", argument: "mode" })
        const datagram = yield* Effect.flip(
          Datagram.createUnixDatagramSocket({ localPath: at, localMode: mode as number })
        )
        expect(datagram).toMatchObject({ _tag: "InvalidArgumentError", argument: "localMode" })
        expect(fs.existsSync(at)).toBe(false)
      }
      for (const backlog of badBacklogs) {
        const at = tempPath()
        const unix = yield* Effect.flip(Listener.createUnixListener(at, { backlog }))
        expect(unix).toMatchObject({ _tag: "InvalidArgumentError", argument: "backlog" })
        expect(fs.existsSync(at)).toBe(false)
        const tcp = yield* Effect.flip(Listener.createTcpListener({ localHost: "127.0.0.1", backlog }))
        expect(tcp).toMatchObject({ _tag: "InvalidArgumentError", argument: "backlog" })
      }
      // The edges are accepted.
      yield* Listener.createUnixListener(tempPath(), { mode: 0o7777, backlog: 65535 })
      yield* Listener.createUnixListener(tempPath(), { mode: 0, backlog: 1 })
      // -0 is 0: Node's chmod aborts the whole process on -0 (found by any-input in CI).
      const negativeZero = tempPath()
      yield* Listener.createUnixListener(negativeZero, { mode: -0 })
      expect(fs.statSync(negativeZero).mode & 0o7777).toBe(0)
      const datagramZero = tempPath()
      yield* Datagram.createUnixDatagramSocket({ localPath: datagramZero, localMode: -0 })
      expect(fs.statSync(datagramZero).mode & 0o7777).toBe(0)
    }))
})

interface EmfileReport {
  readonly [step: string]: { readonly tag: string; readonly reason?: string }
}

const runEmfileChild = (workDir: string) =>
  Effect.async<EmfileReport, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/reliability/fixtures/emfile-unix.ts"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, EMFILE_DIR: workDir }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("close", (code) => {
      try {
        resume(Effect.succeed(JSON.parse(stdout) as EmfileReport))
      } catch {
        resume(Effect.fail(new Error(`emfile-unix exited ${code}: ${stdout}\n${stderr}`)))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("hardening: EMFILE while creating UNIX sockets (child with a 64-fd limit)", () => {
  it.live(
    "typed TooManyOpenFiles errors; the live listener survives; the addon loads once fds are free",
    () =>
      Effect.gen(function*() {
        const workDir = tempPath("emfile")
        fs.mkdirSync(workDir)
        const report = yield* runEmfileChild(workDir)
        expect(report["loadUnderEmfile"]).toMatchObject({ tag: "ConnectError", reason: "TooManyOpenFiles" })
        // A failed load under EMFILE is not remembered: fd passing works once fds are free.
        expect(report["fdsAfterFree"]).toEqual({ tag: "Success" })
        expect(report["connect"]).toMatchObject({ tag: "ConnectError", reason: "TooManyOpenFiles" })
        expect(report["listenFresh"]).toMatchObject({ tag: "ListenError", reason: "TooManyOpenFiles" })
        expect(report["listenOverLive"]).toMatchObject({ tag: "ListenError", reason: "TooManyOpenFiles" })
        expect(report["liveAfter"]).toEqual({ tag: "Success" })
      }),
    60_000
  )
})

/** A connected addon stream pair. */
const pair = Effect.gen(function*() {
  const at = tempPath()
  const listener = yield* Listener.createUnixListener(at)
  const [client, server] = yield* Effect.zip(Socket.connectUnix(at), listener.accept, { concurrent: true })
  return { client, server }
})

const openFile = (contents: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const file = tempPath("file")
      fs.writeFileSync(file, contents)
      return fs.openSync(file, "r")
    }),
    (fd) => Effect.sync(() => fs.closeSync(fd))
  )

const contentsOf = (fd: number): string => {
  const buffer = Buffer.alloc(64)
  return buffer.toString("utf8", 0, fs.readSync(fd, buffer, 0, buffer.length, 0))
}

describe("hardening: sendFds refuses what the kernel would, before any I/O", () => {
  it.scopedLive("more than SCM_MAX_FD (254, 1025 fds) or fds outside the int range: InvalidArgumentError, the stream still works", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const fd = yield* openFile("one")
      for (const count of [254, 1025]) {
        const error = yield* Effect.flip(client.sendFds("x", Array.from({ length: count }, () => fd)))
        expect(error).toMatchObject({ _tag: "InvalidArgumentError", argument: "fds" })
      }
      for (const bad of [2 ** 31, 2 ** 40, 1e20]) {
        const error = yield* Effect.flip(client.sendFds("x", [bad]))
        expect(error).toMatchObject({ _tag: "InvalidArgumentError", argument: "fds[0]" })
      }
      // Nothing was sent, and the stream carries bytes and fds as before (253 is the limit).
      yield* client.sendFds("max", Array.from({ length: 253 }, () => fd))
      const [message, fds] = yield* server.receiveFds(16, 253)
      expect([text(message), fds.length, contentsOf(fds[252]!)]).toEqual(["max", 253, "one"])
      fds.forEach((received) => fs.closeSync(received))
      yield* client.send("after")
      expect(text(yield* server.receive())).toBe("after")
    }))
})

describe("hardening: MSG_CTRUNC keeps the message's bytes", () => {
  it.scopedLive("python sends 3 fds with \"three\", we allow 1: MessageTooLong, then \"three\" is the next receive", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      yield* spawnPython(
        `import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
fd = os.open("/dev/null", os.O_RDONLY)
socket.send_fds(s, [b"three"], [fd, fd, fd]); s.sendall(b"+after"); s.close()`,
        [at]
      )
      const server = yield* listener.accept
      const error = yield* Effect.flip(server.receiveFds(16, 1))
      expect(error).toMatchObject({ _tag: "BrokenResourceError", reason: "MessageTooLong" })
      let seen = ""
      for (let i = 0; i < 10 && !seen.endsWith("after"); i++) seen += text(yield* server.receive())
      expect(seen).toBe("three+after")
    }))
})
