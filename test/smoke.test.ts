import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Listener, Socket } from "../src/index.js"

describe("smoke", () => {
  it.scopedLive("echo over loopback", () =>
    Effect.gen(function* () {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      yield* Effect.forkScoped(listener.serve((s) => Effect.flatMap(s.receive(), (d) => s.send(d))))
      const port = listener.addresses[0]!._tag === "InetAddress" ? listener.addresses[0]!.port : 0
      const client = yield* Socket.connectTcp("127.0.0.1", port)
      yield* client.send("ping")
      expect(Buffer.from(yield* client.receive()).toString()).toBe("ping")
    }))
})
