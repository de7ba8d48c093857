/**
 * The Effect 4 edition's examples (examples/effect4/) as a user runs them — child processes
 * started with `node --import tsx` — against python3 peers: the TCP, UNIX and datagram servers
 * answer python's clients (TLS with python's ssl), the clients print python servers' replies, fds cross both ways with
 * python's `send_fds`/`recv_fds`, a bad command line prints one usage line and exits 2, and the
 * UNIX datagram service removes its socket file when it stops.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { makeTestCerts, removeTestCerts } from "../helpers/certs.js"
import { runPython, spawnPython } from "./helpers/python.js"

/** Starting tsx in a child takes seconds on a loaded 2-core machine. */
const SPAWN_TIMEOUT = 90_000

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es4-examples-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

interface Run {
  readonly child: ChildProcess
  /** stdout so far. */
  readonly stdout: () => string
  /** The exit code (or null after a signal) and stderr, once the process has exited. */
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly stderr: string }>
}

/** Starts `examples/effect4/<script>` with `args` (on this Node, ≥ 22.19); killed when the scope closes. */
const start = (script: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Run => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join("examples", "effect4", script), ...args], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
      child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
      const done = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
      return {
        child,
        stdout: () => stdout,
        exited: Effect.promise(() => done).pipe(Effect.map((code) => ({ code, stderr })))
      }
    }),
    (run) => Effect.sync(() => void (run.child.exitCode === null && run.child.kill("SIGKILL")))
  )

/** Waits (bounded) until the process has printed a line matching `pattern`; the match. */
const awaitOutput = (run: Run, pattern: RegExp) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1200; i++) {
      const match = pattern.exec(run.stdout())
      if (match) return match
      if (run.child.exitCode !== null) return yield* Effect.die(new Error(`exited before printing ${pattern}`))
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.die(new Error(`no ${pattern} within 60 s`))
  })

/** python3 sends `payload` to a UDP or UNIX datagram address and prints the reply. */
const pyAsk = `
import socket, sys, tempfile, os
kind, where, payload = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); target = ("127.0.0.1", int(where))
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[4]); target = where
s.settimeout(10)
s.sendto(payload, target)
print(s.recv(65536).decode())
`

/** python3 answers one datagram (UDP port or UNIX path) with "echo: <it>", printing where it listens. */
const pyAnswer = `
import socket, sys
kind, where = sys.argv[1], sys.argv[2]
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(where); print(where)
s.settimeout(80)  # under the test's 90 s: a loaded machine can take 20+ s to start the example (tsx)
data, addr = s.recvfrom(65536)
s.sendto(b"echo: " + data, addr)
print(repr(addr))
`

/** python3 as a stream client: connects (TCP port or UNIX path), sends "python\n", prints the reply. */
const pyClient = `
import socket, sys
kind, where = sys.argv[1], sys.argv[2]
s = socket.create_connection(("127.0.0.1", int(where)), 10) if kind == "tcp" else socket.socket(socket.AF_UNIX)
if kind == "unix":
    s.settimeout(10); s.connect(where)
s.sendall(b"python\\n")
print(s.recv(1024).decode().rstrip())
`

/** python3 as a stream server for one client: prints where it listens, replies "hi <what it got>". */
const pyServer = `
import socket, sys, os
kind, where = sys.argv[1], sys.argv[2]
if kind == "tcp":
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
else:
    s = socket.socket(socket.AF_UNIX); s.bind(where); print(where)
s.listen(1); s.settimeout(30)
c, _ = s.accept()
c.sendall(b"hi " + c.recv(1024))
c.close()
`

/** python3 receives one fd from a UNIX stream server and prints the file's contents. */
const pyReceiveFd = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
msg, fds, flags, addr = socket.recv_fds(s, 1024, 1)
print(os.read(fds[0], 100).decode())
`

/** python3 serves one client on a UNIX path: sends it the fd of a file. */
const pySendFd = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(30); print("ready")
c, _ = s.accept()
fd = os.open(sys.argv[2], os.O_RDONLY)
socket.send_fds(c, [b"this message is ignored"], [fd])
c.close()
`

/** python3 as a TLS client (trusting `ca`, verifying "localhost"): sends "python\n", prints the reply. */
const pyTlsClient = `
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"python\\n")
        print(s.recv(1024).decode().rstrip())
`

/** python3 as a TLS server for one client (certificate and key files): replies "hi <what it got>". */
const pyTlsServer = `
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(30); print(s.getsockname()[1])
raw, _ = s.accept()
with context.wrap_socket(raw, server_side=True) as c:
    c.sendall(b"hi " + c.recv(1024))
`

describe("examples (Effect 4 edition)", () => {
  it.live(
    "tls-server answers a python3 ssl client; tls-client verifies a python3 ssl server and prints its reply",
    () =>
      Effect.gen(function*() {
        const certs = makeTestCerts()
        yield* Effect.addFinalizer(() => Effect.sync(() => removeTestCerts(certs)))
        const server = yield* start("tls-server.ts", [
          "--host",
          "127.0.0.1",
          "--port",
          "0",
          "--cert",
          certs.server.certFile,
          "--key",
          certs.server.keyFile
        ])
        const [, port] = yield* awaitOutput(server, /listening on 127\.0\.0\.1:(\d+)\n/)
        expect(yield* runPython(pyTlsClient, [port!, certs.ca.certFile])).toBe("Hello, python\n")

        const python = yield* spawnPython(pyTlsServer, [certs.server.certFile, certs.server.keyFile])
        const pyPort = yield* python.line()
        const client = yield* start("tls-client.ts", [
          "--host",
          "localhost",
          "--port",
          pyPort,
          "--ca",
          certs.ca.certFile
        ])
        const { code, stderr } = yield* client.exited
        expect(stderr).toBe("")
        expect(code).toBe(0)
        expect(client.stdout()).toBe("hi Client\n")
      }),
    SPAWN_TIMEOUT
  )

  it.live(
    "tcp-server and unix-server answer python3 clients; tcp-client and unix-client talk to python3 servers",
    () =>
      Effect.gen(function*() {
        const tcp = yield* start("tcp-server.ts", ["--host", "127.0.0.1", "--port", "0"])
        const [, port] = yield* awaitOutput(tcp, /listening on 127\.0\.0\.1:(\d+)\n/)
        expect(yield* runPython(pyClient, ["tcp", port!])).toBe("Hello, python\n")
        const at = path.join(dir, "stream.sock")
        const unix = yield* start("unix-server.ts", ["--path", at])
        yield* awaitOutput(unix, new RegExp(`listening on ${at}\n`))
        expect(yield* runPython(pyClient, ["unix", at])).toBe("Hello, python\n")

        for (
          const [kind, script, where] of [["tcp", "tcp-client.ts", ""], [
            "unix",
            "unix-client.ts",
            path.join(dir, "py-stream.sock")
          ]]
        ) {
          const python = yield* spawnPython(pyServer, [kind!, where!])
          const listening = yield* python.line()
          const client = yield* start(
            script!,
            kind === "tcp" ? ["--host", "127.0.0.1", "--port", listening] : ["--path", listening]
          )
          const { code, stderr } = yield* client.exited
          expect(stderr).toBe("")
          expect(code).toBe(0)
          expect(client.stdout()).toBe("hi Client\n")
        }
      }),
    SPAWN_TIMEOUT
  )

  it.live(
    "unix-fd-server passes a file's fd to python3; unix-fd-client reads the file of an fd python3 sends",
    () =>
      Effect.gen(function*() {
        const at = path.join(dir, "fd.sock")
        const file = path.join(dir, "example-file")
        fs.writeFileSync(file, "Test file")
        const server = yield* start("unix-fd-server.ts", ["--path", at, "--file", file])
        yield* awaitOutput(server, new RegExp(`listening on ${at}\n`))
        expect(yield* runPython(pyReceiveFd, [at])).toBe("Test file\n")

        const pyAt = path.join(dir, "py-fd.sock")
        fs.writeFileSync(path.join(dir, "py-file"), "from python's file")
        const python = yield* spawnPython(pySendFd, [pyAt, path.join(dir, "py-file")])
        expect(yield* python.line()).toBe("ready")
        const client = yield* start("unix-fd-client.ts", ["--path", pyAt])
        const { code, stderr } = yield* client.exited
        expect(stderr).toBe("")
        expect(code).toBe(0)
        expect(client.stdout()).toBe("from python's file\n")
      }),
    SPAWN_TIMEOUT
  )

  it.live("udp-hello answers a python3 sender with Hello, <packet>", () =>
    Effect.gen(function*() {
      const run = yield* start("udp-hello.ts", ["--host", "127.0.0.1", "--port", "0"])
      const [, port] = yield* awaitOutput(run, /listening on 127\.0\.0\.1:(\d+)\n/)
      const python = yield* spawnPython(pyAsk, ["udp", port!, "from python"])
      expect(yield* python.line("30 seconds")).toBe("Hello, from python")
    }), SPAWN_TIMEOUT)

  it.live("udp-connected sends to a python3 peer and prints its reply", () =>
    Effect.gen(function*() {
      const python = yield* spawnPython(pyAnswer, ["udp", ""])
      const port = yield* python.line()
      const run = yield* start("udp-connected.ts", ["--host", "127.0.0.1", "--port", port])
      const { code, stderr } = yield* run.exited
      expect(stderr).toBe("")
      expect(code).toBe(0)
      expect(run.stdout()).toBe("echo: Hi there!\n")
    }), SPAWN_TIMEOUT)

  it.live(
    "unix-datagram-hello answers a python3 sender, and removes its socket file on SIGINT",
    () =>
      Effect.gen(function*() {
        const at = path.join(dir, "hello.sock")
        const run = yield* start("unix-datagram-hello.ts", ["--path", at])
        yield* awaitOutput(run, new RegExp(`listening on ${at}\n`))
        const python = yield* spawnPython(pyAsk, ["unix", at, "from python", path.join(dir, "py-sender.sock")])
        expect(yield* python.line("30 seconds")).toBe("Hello, from python")
        run.child.kill("SIGINT")
        const { code, stderr } = yield* run.exited
        expect(stderr).toBe("")
        expect(code).toBe(0)
        expect(fs.existsSync(at)).toBe(false)
      }),
    SPAWN_TIMEOUT
  )

  it.live(
    "unix-datagram-connected sends to a python3 peer from an autobound name and prints its reply",
    () =>
      Effect.gen(function*() {
        const at = path.join(dir, "py-answer.sock")
        const python = yield* spawnPython(pyAnswer, ["unix", at])
        expect(yield* python.line()).toBe(at)
        const run = yield* start("unix-datagram-connected.ts", ["--path", at])
        const { code, stderr } = yield* run.exited
        expect(stderr).toBe("")
        expect(code).toBe(0)
        expect(run.stdout()).toBe("echo: Hi there!\n")
        expect(yield* python.line()).toMatch(/^b'\\x00/) // the autobound abstract name python replied to
      }),
    SPAWN_TIMEOUT
  )

  it.live("a bad command line prints one usage line (no stack) and exits 2", () =>
    Effect.gen(function*() {
      const run = yield* start("unix-datagram-hello.ts", ["--bogus"])
      const { code, stderr } = yield* run.exited
      expect(code).toBe(2)
      expect(stderr).toBe(
        "error: Unknown option '--bogus'; usage: npx tsx examples/effect4/unix-datagram-hello.ts [--path /tmp/mysock]\n"
      )
    }), SPAWN_TIMEOUT)
})
