/**
 * The Effect 4 edition's Connectables: a description of where to connect, each `connect` a new
 * scoped stream (TCP and UNIX), recognised by `isConnectable`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Listener, Socket } from "../../src/effect4/index.js"

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

describe("Connectable (Effect 4)", () => {
  it.effect("tcpConnectable connects anew on every connect; a refused one fails with ConnectError", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const target = Socket.tcpConnectable("127.0.0.1", listener.addresses[0]!.port)
      expect(Socket.isConnectable(target)).toBe(true)
      expect(Socket.isConnectable({ connect: Effect.void })).toBe(false)
      for (const word of ["first", "second"]) {
        const client = yield* target.connect
        const accepted = yield* listener.accept
        yield* client.send(word)
        expect(text(yield* accepted.receive())).toBe(word)
      }
      yield* listener.close
      const refused = yield* Effect.flip(target.connect)
      expect(refused).toMatchObject({ _tag: "ConnectError", reason: "ConnectionRefused" })
    }))

  it.effect("unixConnectable and makeConnectable", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es4-conn-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const at = path.join(dir, "c.sock")
      const listener = yield* Listener.createUnixListener(at)
      const viaUnix = Socket.unixConnectable(at)
      const wrapped = Socket.makeConnectable(viaUnix.connect)
      const client = yield* wrapped.connect
      const accepted = yield* listener.accept
      yield* accepted.send("unix")
      expect(text(yield* client.receive())).toBe("unix")
    }))
})
