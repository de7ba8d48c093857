/**
 * The Effect 4 edition's examples (examples/effect4/) as a user runs them — child processes
 * started with `node --import tsx` — against python3 peers: the UDP and UNIX datagram "hello"
 * services answer python's datagrams, the connected clients print python's replies, a bad command
 * line prints one usage line and exits 2, and the UNIX datagram service removes its socket file
 * when it stops.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { spawnPython } from "./helpers/python.js"

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
s.settimeout(20)
data, addr = s.recvfrom(65536)
s.sendto(b"echo: " + data, addr)
print(repr(addr))
`

describe("examples (Effect 4 edition)", () => {
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
        const python = yield* spawnPython(pyAsk, ["unix", at, "from python", path.join(dir, "py.sock")])
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
