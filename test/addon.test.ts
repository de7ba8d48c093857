/**
 * The raw native addon (src/internal/addon.ts, native/effect_sockets.c): syscall mechanics,
 * fd passing (also against python3 as an independent peer), datagrams, Poller lifetime, leaks.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { type Addon, addonPath, isAddonSystemError, load, WOULD_BLOCK } from "../src/internal/driver/addon.js"

const linux = process.platform === "linux"
let addon: Addon
let dir: string

beforeAll(() => {
  addon = load()
  dir = fs.mkdtempSync(os.tmpdir() + "/es-")
})
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

// Every fd a test opens is registered here and closed after the test if the test did not.
const opened = new Set<number>()
function track(fd: number): number
function track<A extends Array<number>>(fds: A): A
function track(fds: number | Array<number>): number | Array<number> {
  for (const fd of typeof fds === "number" ? [fds] : fds) opened.add(fd)
  return fds
}
const release = (fd: number): void => {
  opened.delete(fd)
  addon.close(fd)
}
afterEach(() => {
  for (const fd of opened) {
    try {
      addon.close(fd)
    } catch {
      // already closed by the test
    }
  }
  opened.clear()
})

let unique = 0
const tempPath = (name: string): string => path.join(dir, `${name}-${++unique}`)
const bytes = (s: string): Buffer => Buffer.from(s, "utf8")
const fdCount = (): number => fs.readdirSync("/proc/self/fd").length
const isCloexec = (fd: number): boolean => {
  const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))
  if (flags === null) throw new Error(`no flags for fd ${fd}`)
  return (parseInt(flags[1]!, 8) & 0o2000000) !== 0
}
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected a throw")
}

/** Resolves at the first readiness callback (the Poller is closed before resolving). */
const waitFor = (
  fd: number,
  want: { readonly readable?: boolean; readonly writable?: boolean },
  timeoutMs = 5_000
): Promise<{ error: number; readable: boolean; writable: boolean }> =>
  new Promise((resolve, reject) => {
    const poller = new addon.Poller(fd, (error, readable, writable) => {
      clearTimeout(timer)
      poller.close()
      resolve({ error, readable, writable })
    })
    const timer = setTimeout(() => {
      poller.close()
      reject(new Error(`fd ${fd} not ready within ${timeoutMs} ms`))
    }, timeoutMs)
    poller.start(want.readable ?? false, want.writable ?? false)
  })

const recvString = (fd: number, max = 1024): string | number => {
  const buf = Buffer.alloc(max)
  const n = addon.recv(fd, buf, 0, max)
  return n < 0 ? n : buf.toString("utf8", 0, n)
}

const sendString = (fd: number, s: string): number => {
  const b = bytes(s)
  return addon.send(fd, b, 0, b.length)
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A listening stream socket at a fresh temp path. */
const listener = (): { fd: number; path: string } => {
  const p = tempPath("listen")
  const fd = track(addon.socket("stream"))
  addon.bind(fd, bytes(p))
  addon.listen(fd, 16)
  return { fd, path: p }
}

/** Runs python3 with a script; resolves with its stdout, rejects on failure or after a timeout. */
const python = (script: string, args: ReadonlyArray<string>, timeoutMs = 15_000): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", script, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`python3 exited with ${code ?? signal}: ${stderr}`))
    })
  })

describe("loading", () => {
  it("loads once and exposes the API", () => {
    expect(load()).toBe(addon)
    expect(addon.apiVersion).toBe(1)
    expect(Object.isFrozen(addon.constants)).toBe(true)
    expect(addon.constants.SOCK_STREAM).not.toBe(addon.constants.SOCK_DGRAM)
    expect(addon.constants.SUN_PATH_SIZE).toBe(linux ? 108 : 104)
  })

  it("rejects bad arguments with TypeError/RangeError", () => {
    expect(thrown(() => addon.socket("seqpacket" as "stream"))).toBeInstanceOf(TypeError)
    expect(thrown(() => addon.recv(1.5, Buffer.alloc(1), 0, 1))).toBeInstanceOf(RangeError)
    expect(thrown(() => addon.recv(0, "x" as unknown as Buffer, 0, 1))).toBeInstanceOf(TypeError)
    expect(thrown(() => addon.recv(0, Buffer.alloc(4), 2, 3))).toMatchObject({ code: "ERR_OUT_OF_RANGE" })
    expect(thrown(() => addon.shutdown(0, 3 as 0))).toMatchObject({ code: "ERR_OUT_OF_RANGE" })
    expect(thrown(() => addon.recvmsg(0, Buffer.alloc(1), 0, 1, -1))).toMatchObject({ code: "ERR_OUT_OF_RANGE" })
  })

  it("throws system errors with code, negative errno and syscall", () => {
    const error = thrown(() => addon.close(1_000_000))
    expect(isAddonSystemError(error)).toBe(true)
    expect(error).toMatchObject({ code: "EBADF", errno: -9, syscall: "close" })
    expect((error as Error).message).toBe("EBADF: Bad file descriptor, close")
  })
})

describe("stream sockets", () => {
  it("round-trips bytes over a socketpair; empty means -1 (would block)", () => {
    const [a, b] = track(addon.socketpair("stream"))
    expect(recvString(b)).toBe(WOULD_BLOCK)
    expect(sendString(a, "hello")).toBe(5)
    expect(sendString(b, "world!")).toBe(6)
    expect(recvString(b)).toBe("hello")
    // offset/length address a slice of the buffer
    const buf = Buffer.alloc(10, ".")
    expect(addon.recv(a, buf, 2, 3)).toBe(3)
    expect(buf.toString()).toBe("..wor.....")
    expect(recvString(a)).toBe("ld!")
    expect(isCloexec(a)).toBe(true)
    expect(addon.fdType(a)).toBe("socket")
    expect(addon.getsockoptInt(a, addon.constants.SOL_SOCKET, addon.constants.SO_TYPE)).toBe(
      addon.constants.SOCK_STREAM
    )
  })

  it("reports EOF (0) after the peer's shutdown, EPIPE on a shut-down side", () => {
    const [a, b] = track(addon.socketpair("stream"))
    sendString(a, "last")
    addon.shutdown(a, 1)
    expect(recvString(b)).toBe("last")
    expect(recvString(b)).toBe("") // 0 bytes: EOF
    expect(thrown(() => sendString(a, "x"))).toMatchObject({ code: "EPIPE", syscall: "send" })
    expect(sendString(b, "still open")).toBe(10) // half-close: the other direction works
    expect(recvString(a)).toBe("still open")
  })

  it("sends until the buffer is full, then -1; recv drains it", () => {
    const [a, b] = track(addon.socketpair("stream"))
    const chunk = Buffer.alloc(65536, 1)
    let total = 0
    for (let i = 0; i < 10_000; i++) {
      const n = addon.send(a, chunk, 0, chunk.length)
      if (n === WOULD_BLOCK) break
      total += n
    }
    expect(addon.send(a, chunk, 0, chunk.length)).toBe(WOULD_BLOCK)
    let drained = 0
    for (let i = 0; i < 100_000 && drained < total; i++) {
      const n = addon.recv(b, chunk, 0, chunk.length)
      if (n <= 0) break
      drained += n
    }
    expect(drained).toBe(total)
  })

  it("listens on a path, connects, accepts, and a Poller reports readability", async () => {
    const l = listener()
    expect(addon.accept(l.fd)).toBe(WOULD_BLOCK)
    const client = track(addon.socket("stream"))
    expect(addon.connect(client, bytes(l.path))).toBe(true) // AF_UNIX connects at once on Linux
    expect(addon.socketError(client)).toBe(0)
    expect((await waitFor(l.fd, { readable: true })).readable).toBe(true)
    const server = track(addon.accept(l.fd))
    expect(server).toBeGreaterThanOrEqual(0)
    expect(isCloexec(server)).toBe(true)
    expect(addon.getsockname(l.fd).toString()).toBe(l.path)
    expect(addon.getpeername(client).toString()).toBe(l.path)
    expect(addon.getsockname(client).length).toBe(0) // unnamed
    expect(addon.getpeername(server).length).toBe(0)

    const ready = waitFor(server, { readable: true })
    setTimeout(() => sendString(client, "ping"), 20)
    expect(await ready).toEqual({ error: 0, readable: true, writable: false })
    expect(recvString(server)).toBe("ping")
    // stream recvmsg names the sending socket: the accepted socket carries the listener's path
    sendString(server, "pong")
    const got = addon.recvmsg(client, Buffer.alloc(8), 0, 8, 0)!
    expect(got.address?.toString()).toBe(l.path)
    sendString(client, "anon")
    expect(addon.recvmsg(server, Buffer.alloc(8), 0, 8, 0)).toMatchObject({ bytes: 4, address: null })
    expect(await waitFor(server, { writable: true })).toEqual({ error: 0, readable: false, writable: true })
  })

  it("fails to connect with ENOENT / ECONNREFUSED, bind with EADDRINUSE", () => {
    const missing = track(addon.socket("stream"))
    expect(thrown(() => addon.connect(missing, bytes(tempPath("missing"))))).toMatchObject({
      code: "ENOENT",
      syscall: "connect"
    })
    // a socket file nobody listens on
    const stale = tempPath("stale")
    const bound = track(addon.socket("stream"))
    addon.bind(bound, bytes(stale))
    const refused = track(addon.socket("stream"))
    expect(thrown(() => addon.connect(refused, bytes(stale)))).toMatchObject({ code: "ECONNREFUSED" })
    const again = track(addon.socket("stream"))
    expect(thrown(() => addon.bind(again, bytes(stale)))).toMatchObject({
      code: "EADDRINUSE",
      errno: -98,
      syscall: "bind"
    })
  })

  it.runIf(linux)("throws EAGAIN from connect when the backlog is full (nothing in progress)", () => {
    const p = tempPath("backlog")
    const l = track(addon.socket("stream"))
    addon.bind(l, bytes(p))
    addon.listen(l, 0)
    let error: unknown
    let last = -1
    for (let i = 0; i < 20 && error === undefined; i++) {
      last = track(addon.socket("stream"))
      try {
        addon.connect(last, bytes(p))
      } catch (e) {
        error = e
      }
    }
    expect(error).toMatchObject({ code: "EAGAIN", syscall: "connect" })
    expect(thrown(() => addon.getpeername(last))).toMatchObject({ code: "ENOTCONN" })
    // once a connection is accepted, the same socket can retry
    track(addon.accept(l))
    expect(addon.connect(last, bytes(p))).toBe(true)
  })

  it.runIf(linux)("supports abstract names (leading 0 byte, exact length)", async () => {
    const name = Buffer.concat([Buffer.from([0]), bytes(`es-test-${process.pid}-${Date.now()}`)])
    const l = track(addon.socket("stream"))
    addon.bind(l, name)
    addon.listen(l, 4)
    expect(addon.getsockname(l).equals(name)).toBe(true)
    const client = track(addon.socket("stream"))
    expect(addon.connect(client, name)).toBe(true)
    expect(addon.getpeername(client).equals(name)).toBe(true)
    await waitFor(l, { readable: true })
    const server = track(addon.accept(l))
    sendString(server, "abstract")
    expect(recvString(client)).toBe("abstract")
    // a prefix of the name is another name
    const other = track(addon.socket("stream"))
    expect(thrown(() => addon.connect(other, name.subarray(0, name.length - 1)))).toMatchObject({
      code: "ECONNREFUSED"
    })
  })

  it("refuses over-long paths with ENAMETOOLONG instead of truncating", () => {
    const fd = track(addon.socket("stream"))
    const size = addon.constants.SUN_PATH_SIZE
    const long = bytes(path.join(dir, "x".repeat(size)).slice(0, size)) // exactly SUN_PATH_SIZE bytes
    expect(long.length).toBe(size)
    const error = thrown(() => addon.bind(fd, long))
    expect(error).toMatchObject({ code: "ENAMETOOLONG", errno: -36, syscall: "bind" })
    expect((error as Error).message).toContain(`limit is ${size - 1}`)
    expect(thrown(() => addon.connect(fd, long))).toMatchObject({ code: "ENAMETOOLONG", syscall: "connect" })
    expect(thrown(() => addon.sendmsg(fd, Buffer.alloc(1), 0, 1, [], long))).toMatchObject({ code: "ENAMETOOLONG" })
    expect(fs.readdirSync(dir).some((f) => f.startsWith("xxxx"))).toBe(false)

    // the longest pathname fits and round-trips
    const longest = long.subarray(0, size - 1)
    addon.bind(fd, longest)
    expect(addon.getsockname(fd).equals(longest)).toBe(true)
    fs.unlinkSync(longest.toString())

    if (linux) {
      const abstract = Buffer.alloc(size + 1, "a")
      abstract[0] = 0
      const d = track(addon.socket("dgram"))
      expect(thrown(() => addon.bind(d, abstract))).toMatchObject({ code: "ENAMETOOLONG" })
      addon.bind(d, abstract.subarray(0, size)) // 108 bytes: the whole sun_path, no NUL needed
      expect(addon.getsockname(d).equals(abstract.subarray(0, size))).toBe(true)
    }
    // a pathname with a NUL inside would be cut by the kernel: refused
    expect(thrown(() => addon.bind(fd, bytes(tempPath("nul") + "\0tail")))).toMatchObject({ code: "EINVAL" })
  })
})

describe("fd passing (SCM_RIGHTS)", () => {
  const tempFile = (contents: string): number => {
    const p = tempPath("file")
    fs.writeFileSync(p, contents)
    return track(fs.openSync(p, "r"))
  }

  it("passes two file fds; received fds are readable and close-on-exec", () => {
    const [a, b] = track(addon.socketpair("stream"))
    const f1 = tempFile("first file")
    const f2 = tempFile("second file")
    expect(addon.fdType(f1)).toBe("file")
    const message = bytes("fds!")
    expect(addon.sendmsg(a, message, 0, message.length, [f1, f2], null)).toBe(4)
    const buf = Buffer.alloc(16)
    const got = addon.recvmsg(b, buf, 0, buf.length, 4)
    expect(got).not.toBeNull()
    track(got!.fds)
    expect(got).toMatchObject({ bytes: 4, truncated: false, controlTruncated: false, address: null })
    expect(buf.toString("utf8", 0, got!.bytes)).toBe("fds!")
    expect(got!.fds).toHaveLength(2)
    const read = (fd: number) => {
      const out = Buffer.alloc(64)
      return out.toString("utf8", 0, fs.readSync(fd, out, 0, 64, 0))
    }
    expect(got!.fds.map(read)).toEqual(["first file", "second file"])
    expect(got!.fds.every(isCloexec)).toBe(true)
    expect(got!.fds).not.toContain(f1)
    expect(addon.recvmsg(b, buf, 0, buf.length, 4)).toBeNull() // would block
  })

  it("reports MSG_CTRUNC with the fds that fit; the kernel closed the others", () => {
    const [a, b] = track(addon.socketpair("stream"))
    const files = [tempFile("1"), tempFile("2"), tempFile("3")]
    const before = fdCount()
    addon.sendmsg(a, bytes("x"), 0, 1, files, null)
    const got = addon.recvmsg(b, Buffer.alloc(4), 0, 4, 1)!
    expect(got.controlTruncated).toBe(true)
    expect(got.fds).toHaveLength(1)
    expect(fdCount()).toBe(before + 1)
    release(got.fds[0]!)

    addon.sendmsg(a, bytes("y"), 0, 1, files, null)
    const none = addon.recvmsg(b, Buffer.alloc(4), 0, 4, 0)!
    expect(none).toMatchObject({ bytes: 1, fds: [], controlTruncated: true })
    expect(fdCount()).toBe(before)
  })

  it("rejects invalid fds in sendmsg with EBADF and sends nothing", () => {
    const [a, b] = track(addon.socketpair("stream"))
    expect(addon.fdType(1_000_000)).toBe("invalid")
    expect(thrown(() => addon.sendmsg(a, bytes("x"), 0, 1, [1_000_000], null))).toMatchObject({
      code: "EBADF",
      syscall: "sendmsg"
    })
    expect(recvString(b)).toBe(WOULD_BLOCK)
    expect(thrown(() => addon.sendmsg(a, bytes("x"), 0, 1, ["3" as unknown as number], null))).toBeInstanceOf(TypeError)
  })

  it("leaves the fd count unchanged after 10,000 fd send/receive cycles", () => {
    const [a, b] = track(addon.socketpair("stream"))
    const file = tempFile("cycled")
    const buf = Buffer.alloc(1)
    const before = fdCount()
    for (let i = 0; i < 10_000; i++) {
      expect(addon.sendmsg(a, buf, 0, 1, [file], null)).toBe(1)
      const got = addon.recvmsg(b, buf, 0, 1, 1)!
      if (got.fds.length !== 1) throw new Error(`cycle ${i}: ${JSON.stringify(got)}`)
      addon.close(got.fds[0]!)
    }
    expect(fdCount()).toBe(before)
  })

  describe("against python3", () => {
    const receiver = String.raw`
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
msg, fds, flags, addr = socket.recv_fds(s, 1024, 4)
contents = os.pread(fds[0], 100, 0).decode()
peer = socket.socket(fileno=fds[1])
peer.sendall(b"sent by python through the passed socket")
peer.close(); os.close(fds[0]); s.close()
print(json.dumps({"msg": msg.decode(), "n": len(fds), "contents": contents}))
`
    const sender = String.raw`
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
path = os.path.join(sys.argv[2], "from-python.txt")
with open(path, "w") as f: f.write("written by python")
f = open(path, "rb")
a, b = socket.socketpair()
socket.send_fds(s, [b"two fds from python"], [f.fileno(), a.fileno()])
b.sendall(b"data over the socket python passed")
b.close(); a.close(); f.close(); s.close()
`

    it("node sends a file fd and a socket fd; python reads the file and writes through the socket", async () => {
      const l = listener()
      const file = tempFile("written by node")
      const [mine, theirs] = track(addon.socketpair("stream"))
      const done = python(receiver, [l.path])
      await waitFor(l.fd, { readable: true }, 10_000)
      const conn = track(addon.accept(l.fd))
      const message = bytes("two fds from node")
      expect(addon.sendmsg(conn, message, 0, message.length, [file, theirs], null)).toBe(message.length)
      release(theirs) // the kernel holds its own reference while in flight
      const out = JSON.parse(await done) as unknown
      expect(out).toEqual({ msg: "two fds from node", n: 2, contents: "written by node" })
      await waitFor(mine, { readable: true })
      expect(recvString(mine)).toBe("sent by python through the passed socket")
    })

    it("python sends a file fd and a socket fd; node reads the file and the socket's data", async () => {
      const l = listener()
      const done = python(sender, [l.path, dir])
      await waitFor(l.fd, { readable: true }, 10_000)
      const conn = track(addon.accept(l.fd))
      await done
      await waitFor(conn, { readable: true })
      const buf = Buffer.alloc(64)
      const got = addon.recvmsg(conn, buf, 0, buf.length, 4)!
      track(got.fds)
      expect(buf.toString("utf8", 0, got.bytes)).toBe("two fds from python")
      expect(got.fds).toHaveLength(2)
      expect(got.controlTruncated).toBe(false)
      expect(got.fds.map((fd) => addon.fdType(fd))).toEqual(["file", "socket"])
      expect(got.fds.every(isCloexec)).toBe(true)
      const out = Buffer.alloc(64)
      expect(out.toString("utf8", 0, fs.readSync(got.fds[0]!, out, 0, 64, 0))).toBe("written by python")
      expect(recvString(got.fds[1]!)).toBe("data over the socket python passed")
      expect(recvString(got.fds[1]!)).toBe("") // python closed its end: EOF
      expect(recvString(conn)).toBe("")
    })
  })
})

describe("datagram sockets", () => {
  const dgram = (bindTo?: string): number => {
    const fd = track(addon.socket("dgram"))
    if (bindTo !== undefined) addon.bind(fd, bytes(bindTo))
    return fd
  }

  it("sends to a path and receives the sender's path; an unnamed sender gives null", () => {
    const pathA = tempPath("dgram-a")
    const pathB = tempPath("dgram-b")
    const a = dgram(pathA)
    const b = dgram(pathB)
    expect(addon.getsockoptInt(a, addon.constants.SOL_SOCKET, addon.constants.SO_TYPE)).toBe(addon.constants.SOCK_DGRAM)
    const hello = bytes("hello b")
    expect(addon.sendmsg(a, hello, 0, hello.length, [], bytes(pathB))).toBe(hello.length)
    const buf = Buffer.alloc(64)
    const got = addon.recvmsg(b, buf, 0, buf.length, 0)!
    expect(got.bytes).toBe(hello.length)
    expect(got.address?.toString()).toBe(pathA)
    expect(got.truncated).toBe(false)

    const unnamed = dgram()
    addon.sendmsg(unnamed, hello, 0, hello.length, [], bytes(pathB))
    expect(addon.recvmsg(b, buf, 0, buf.length, 0)).toMatchObject({ bytes: hello.length, address: null })
    expect(addon.recvmsg(b, buf, 0, buf.length, 0)).toBeNull()
  })

  it("reports a datagram larger than the buffer as truncated", () => {
    const pathB = tempPath("dgram-big")
    const a = dgram()
    const b = dgram(pathB)
    const big = Buffer.alloc(100, "z")
    addon.sendmsg(a, big, 0, big.length, [], bytes(pathB))
    const got = addon.recvmsg(b, Buffer.alloc(10), 0, 10, 0)!
    expect(got).toMatchObject({ bytes: 10, truncated: true })
    // the rest of that datagram is gone; empty datagrams are legal
    addon.sendmsg(a, big, 0, 0, [], bytes(pathB))
    expect(addon.recvmsg(b, Buffer.alloc(10), 0, 10, 0)).toMatchObject({ bytes: 0, truncated: false })
  })

  it("connects, sends with send(), passes fds in datagrams, and errors typed without a peer", () => {
    const pathB = tempPath("dgram-conn")
    const a = dgram()
    const b = dgram(pathB)
    expect(thrown(() => sendString(a, "nowhere"))).toMatchObject({ syscall: "send" })
    expect(addon.connect(a, bytes(pathB))).toBe(true)
    expect(sendString(a, "connected")).toBe(9)
    expect(recvString(b)).toBe("connected")
    const [x, y] = track(addon.socketpair("stream"))
    addon.sendmsg(a, bytes("fd"), 0, 2, [x], null)
    const got = addon.recvmsg(b, Buffer.alloc(8), 0, 8, 2)!
    track(got.fds)
    expect(got.fds).toHaveLength(1)
    sendString(got.fds[0]!, "via dgram-passed fd")
    expect(recvString(y)).toBe("via dgram-passed fd")
    expect(thrown(() => addon.sendmsg(b, bytes("x"), 0, 1, [], bytes(tempPath("nobody"))))).toMatchObject({
      code: "ENOENT",
      syscall: "sendmsg"
    })
  })

  it.runIf(linux)("autobinds an abstract name when bound to an empty path", () => {
    const fd = dgram()
    expect(addon.getsockname(fd).length).toBe(0)
    addon.bind(fd, Buffer.alloc(0))
    const name = addon.getsockname(fd)
    expect(name.length).toBe(6) // "\0" + 5 hex digits
    expect(name[0]).toBe(0)
    const pathB = tempPath("dgram-auto")
    const b = dgram(pathB)
    addon.sendmsg(fd, bytes("hi"), 0, 2, [], bytes(pathB))
    const got = addon.recvmsg(b, Buffer.alloc(8), 0, 8, 0)!
    expect(got.address?.equals(name)).toBe(true)
    // and replies reach the autobound socket
    addon.sendmsg(b, bytes("back"), 0, 4, [], got.address)
    expect(recvString(fd)).toBe("back")
  })

  it("sets and reads SO_SNDBUF / SO_RCVBUF", () => {
    const fd = dgram()
    const { SOL_SOCKET, SO_RCVBUF } = addon.constants
    addon.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, 32768)
    expect(addon.getsockoptInt(fd, SOL_SOCKET, SO_RCVBUF)).toBeGreaterThanOrEqual(32768)
  })
})

describe("Poller", () => {
  it("never calls back after close, even when closed while started and ready", async () => {
    const [a] = track(addon.socketpair("stream"))
    let calls = 0
    const poller = new addon.Poller(a, () => calls++)
    poller.start(true, true) // writable at once
    poller.close()
    poller.close() // idempotent
    await delay(50)
    expect(calls).toBe(0)
    expect(thrown(() => poller.start(true, false))).toMatchObject({ code: "ERR_POLLER_CLOSED" })
    expect(thrown(() => poller.stop())).toMatchObject({ code: "ERR_POLLER_CLOSED" })
  })

  it("is level-triggered; close() inside the callback ends the calls", async () => {
    const [a] = track(addon.socketpair("stream"))
    let calls = 0
    await new Promise<void>((resolve) => {
      const poller = new addon.Poller(a, (error, _readable, writable) => {
        expect(error).toBe(0)
        expect(writable).toBe(true)
        if (++calls === 3) {
          poller.close()
          resolve()
        }
      })
      poller.start(false, true)
    })
    await delay(30)
    expect(calls).toBe(3)
  })

  it("stops and restarts; start(false, false) stops", async () => {
    const [a, b] = track(addon.socketpair("stream"))
    let calls = 0
    const poller = new addon.Poller(b, () => calls++)
    poller.start(true, false)
    poller.stop()
    sendString(a, "x")
    await delay(30)
    expect(calls).toBe(0)
    poller.start(true, false)
    poller.start(false, false)
    await delay(30)
    expect(calls).toBe(0)
    poller.start(true, false)
    await delay(30)
    expect(calls).toBeGreaterThan(0)
    poller.close()
  })

  it("runs microtasks and nextTicks right after the callback (napi_make_callback)", async () => {
    const [a] = track(addon.socketpair("stream"))
    const order: Array<string> = []
    await new Promise<void>((resolve) => {
      const poller = new addon.Poller(a, () => {
        poller.close()
        order.push("callback")
        setImmediate(() => {
          order.push("immediate")
          resolve()
        })
        void Promise.resolve().then(() => order.push("microtask"))
        process.nextTick(() => order.push("tick"))
      })
      poller.start(false, true)
    })
    expect(order).toEqual(["callback", "tick", "microtask", "immediate"])
  })

  it("refuses a second Poller on a watched fd (EEXIST) and regular files (EPERM)", () => {
    const [a] = track(addon.socketpair("stream"))
    const first = new addon.Poller(a, () => {})
    first.start(true, false) // libuv only knows the fd once a watcher is started
    expect(thrown(() => new addon.Poller(a, () => {}))).toMatchObject({ code: "EEXIST", syscall: "uv_poll_init" })
    first.close()
    new addon.Poller(a, () => {}).close() // free again after close
    const p = tempPath("regular")
    fs.writeFileSync(p, "")
    const file = track(fs.openSync(p, "r"))
    if (linux) expect(thrown(() => new addon.Poller(file, () => {}))).toMatchObject({ code: "EPERM" })
    expect(thrown(() => (addon.Poller as unknown as (fd: number, cb: () => void) => void)(a, () => {}))).toBeInstanceOf(
      TypeError
    )
  })

  it.runIf(linux)("reports POLLERR (peer reset) as error -9 and stops itself", async () => {
    const [a, b] = track(addon.socketpair("stream"))
    sendString(b, "unread") // b closes with unread data: a gets ECONNRESET
    sendString(a, "unread by b")
    let calls = 0
    const result = await new Promise<{ error: number }>((resolve) => {
      const poller = new addon.Poller(a, (error) => {
        calls++
        if (error !== 0) {
          setTimeout(() => {
            poller.close()
            resolve({ error })
          }, 30)
        }
      })
      poller.start(false, false)
      release(b)
      poller.start(true, false)
    })
    expect(result.error).toBe(-9)
    expect(calls).toBe(1) // stopped by libuv: no further calls
    // the real story comes from recv: buffered data first, then the error, then EOF
    expect(recvString(a)).toBe("unread")
    expect(thrown(() => recvString(a))).toMatchObject({ code: "ECONNRESET", syscall: "recv" })
    expect(recvString(a)).toBe("")
  })
})

describe("resources", () => {
  it.runIf(linux)("10,000 socketpair/close cycles leave the fd count unchanged", () => {
    const before = fdCount()
    for (let i = 0; i < 10_000; i++) {
      const [a, b] = addon.socketpair(i % 2 === 0 ? "stream" : "dgram")
      addon.close(a)
      addon.close(b)
    }
    expect(fdCount()).toBe(before)
  })

  it.runIf(linux)("10,000 Poller create/start/close cycles leave the fd count unchanged", () => {
    const [a] = track(addon.socketpair("stream"))
    const before = fdCount()
    for (let i = 0; i < 10_000; i++) {
      const poller = new addon.Poller(a, () => {})
      poller.start(true, true)
      poller.close()
    }
    expect(fdCount()).toBe(before)
  })

  const node = (script: string, args: ReadonlyArray<string> = []) =>
    spawnSync(process.execPath, [...args, "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, ADDON: addonPath }
    })

  it("garbage-collected Pollers are closed by their finalizer without crashing", () => {
    const result = node(
      `
      import { createRequire } from "node:module"
      const addon = createRequire(import.meta.url)(process.env.ADDON)
      const pairs = []
      for (let i = 0; i < 2000; i++) {
        const pair = addon.socketpair("stream")
        pairs.push(pair)
        const poller = new addon.Poller(pair[0], () => {})
        if (i % 2 === 0) { poller.start(true, true); poller.stop() }
      }
      let kept = 0
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)) }
      // every handle is closed: a new Poller on each fd is accepted (no EEXIST), and the loop is idle
      for (const [a, b] of pairs) { new addon.Poller(a, () => {}).close(); kept++; addon.close(a); addon.close(b) }
      // a started Poller stays alive (and working) without a JS reference
      const [x, y] = addon.socketpair("stream")
      new addon.Poller(y, (error, readable) => { console.log("started poller", kept, error, readable); process.exit(0) }).start(true, false)
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)) }
      addon.send(x, Buffer.from("x"), 0, 1)
      `,
      ["--expose-gc"]
    )
    expect(result.stderr).toBe("")
    expect(result.stdout.trim()).toBe("started poller 2000 0 true")
    expect(result.status).toBe(0)
  })

  it("an exception thrown by the callback reaches process 'uncaughtException'", () => {
    const result = node(`
      import { createRequire } from "node:module"
      const addon = createRequire(import.meta.url)(process.env.ADDON)
      process.on("uncaughtException", (error) => { console.log("caught", error.message); process.exit(0) })
      const [a] = addon.socketpair("stream")
      const poller = new addon.Poller(a, () => { poller.close(); throw new Error("boom") })
      poller.start(false, true)
    `)
    expect(result.stdout.trim()).toBe("caught boom")
    expect(result.status).toBe(0)
  })

  it("workers that exit or are terminated with open Pollers do not crash the process", () => {
    // Regression: the uv_close callback used to run after the worker had unloaded the addon.
    const result = node(`
      import { Worker } from "node:worker_threads"
      const variants = {
        started: "p.start(true, true)",
        stopped: "p.start(true, false); p.stop()",
        fresh: "",
        closing: "p.start(true, true); p.close()"
      }
      for (const [name, body] of Object.entries(variants)) {
        for (const how of ["terminate", "exit"]) {
          const code = \`
            const addon = require(process.env.ADDON)
            const [a] = addon.socketpair("stream")
            const p = new addon.Poller(a, () => {})
            \${body}
            require("node:worker_threads").parentPort.postMessage("ready")
            \${how === "exit" ? "setImmediate(() => process.exit(0))" : ""}
          \`
          const worker = new Worker(code, { eval: true, execArgv: [] })
          await new Promise((resolve, reject) => {
            worker.on("message", () => { if (how === "terminate") void worker.terminate() })
            worker.on("exit", resolve)
            worker.on("error", reject)
          })
          console.log(name, how)
        }
      }
    `)
    expect(result.stderr).toBe("")
    expect(result.stdout.trim().split("\n")).toEqual([
      "started terminate",
      "started exit",
      "stopped terminate",
      "stopped exit",
      "fresh terminate",
      "fresh exit",
      "closing terminate",
      "closing exit"
    ])
    expect(result.status).toBe(0)
  })
})
