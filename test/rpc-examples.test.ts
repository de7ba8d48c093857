/**
 * examples/rpc-server.ts and examples/rpc-client.ts, run in-process over TCP, UNIX and TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { rpcClient } from "../examples/rpc-client.js"
import { rpcServer, type RpcServerOptions } from "../examples/rpc-server.js"
import { useTestCerts } from "./helpers/certs.js"

const certs = useTestCerts()
let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-rpc-ex-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Starts the server example, returns the port it announced (0 for a UNIX path). */
const startServer = (options: Omit<RpcServerOptions, "announce">) =>
  Effect.gen(function*() {
    const announced = yield* Deferred.make<string>()
    yield* Effect.forkScoped(rpcServer({ ...options, announce: (line) => Deferred.succeed(announced, line) }))
    const line = yield* Deferred.await(announced)
    return Number(/:(\d+)$/.exec(line)?.[1] ?? 0)
  })

const expected = (name: string) => [
  `Hello, ${name}`,
  "1 2 3 4 5",
  "ConnectError: cannot connect to 127.0.0.1:1: ConnectionRefused (connect ECONNREFUSED)"
]

describe("rpc examples", () => {
  it.scopedLive("over TCP", () =>
    Effect.gen(function*() {
      const port = yield* startServer({ host: "127.0.0.1", port: 0 })
      expect(yield* rpcClient({ host: "127.0.0.1", port, name: "tcp" })).toEqual(expected("tcp"))
    }))

  it.scopedLive("over UNIX", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "rpc.sock")
      yield* startServer({ port: 0, path: at })
      expect(yield* rpcClient({ host: "", port: 0, path: at, name: "unix" })).toEqual(expected("unix"))
    }))

  it.scopedLive("over TLS", () =>
    Effect.gen(function*() {
      const port = yield* startServer({
        host: "127.0.0.1",
        port: 0,
        tls: { cert: certs().server.cert, key: certs().server.key }
      })
      expect(yield* rpcClient({ host: "localhost", port, tls: { ca: certs().ca.cert }, name: "tls" })).toEqual(
        expected("tls")
      )
    }))
})
