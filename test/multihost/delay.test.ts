/**
 * TCP across a delayed, lossy link: a routed client/server pair of network namespaces joined by
 * a userspace relay between two TUN devices (test/helpers/netns.ts `buildRoutedPair`; this
 * kernel has no netem qdisc), 10.78.0.1 / fd78::1 (client, A) and 10.78.0.2 / fd78::2 (server,
 * B). Our listener runs inside B and our client inside A, each as a child process
 * (test/multihost/fixtures/tcp-peer.ts).
 *
 * (a) happy eyeballs: with IPv6 delayed 300 ms each way, a name resolving to [fd78::2,
 *     10.78.0.2] connects over IPv4 after the 250 ms happy-eyeballs delay, without waiting for
 *     IPv6, and the losing IPv6 attempt never becomes a connection;
 * (b) 2 MiB over TCP and over TLS, echoed back, with 50 ms delay, 5% loss and reordering, arrive
 *     intact (SHA-256) and the connection stays usable;
 * (c) a black-holed connect (100% loss) ends through Effect.timeout and leaves no socket behind.
 *
 * Skipped, with the reason, where `ip netns add` is not possible (not root, no iproute2, …) or
 * there is no /dev/net/tun or python3.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { useTestCerts } from "../helpers/certs.js"
import {
  buildRoutedPair,
  type Peer,
  type RoutedPair,
  spawnPeer,
  stopPeers,
  teardown,
  unavailable
} from "../helpers/netns.js"

const hasPython = (() => {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()
const why = unavailable() ??
  (fs.existsSync("/dev/net/tun") ? undefined : "no /dev/net/tun") ??
  (hasPython ? undefined : "no python3")
if (why !== undefined) console.warn(`test/multihost/delay skipped: ${why}`)

const FIXTURE = "test/multihost/fixtures/tcp-peer.ts"
const PORT = 47_800
const TLS_PORT = 47_801
const MiB = 1024 * 1024

/**
 * The TCP sockets in namespace `ns` with peer `host` in one of `states` (ss state names), as
 * `ss` lists them.
 */
const sockets = (ns: string, host: string, states: ReadonlyArray<string>): Array<string> =>
  execFileSync("ip", [
    "netns",
    "exec",
    ns,
    "ss",
    "-Htan",
    ...states.flatMap((state) => ["state", state]),
    "dst",
    host.includes(":") ? `[${host}]` : host
  ], { encoding: "utf8" }).split("\n").filter((line) => line.trim() !== "")

/** Sockets of a connect still under way or connected (closed ones in TIME-WAIT are not listed). */
const live = ["syn-sent", "syn-recv", "established"]

describe.skipIf(why !== undefined)(`TCP across a delayed, lossy link${why ? ` (skipped: ${why})` : ""}`, () => {
  const certs = useTestCerts()
  let pair: RoutedPair
  let server: Peer
  let client: Peer

  beforeAll(async () => {
    try {
      pair = await buildRoutedPair(180)
      server = spawnPeer(pair.server, FIXTURE)
      client = spawnPeer(pair.client, FIXTURE)
      // The first answer of each peer waits for node + tsx to start (seconds on a loaded machine).
      const { cert, key } = certs().server
      expect(await server.call({ op: "listen", port: PORT }, 45_000)).toEqual({ port: PORT })
      expect(await server.call({ op: "listen", port: TLS_PORT, tls: { cert, key } })).toEqual({ port: TLS_PORT })
      expect(await client.call({ op: "stats" }, 45_000)).toEqual({ accepted: [], open: 0 })
    } catch (error) {
      await stopPeers()
      teardown()
      throw error
    }
  }, 60_000)

  afterAll(async () => {
    try {
      await stopPeers()
    } finally {
      teardown()
    }
  }, 30_000)

  it(
    "(a) happy eyeballs: IPv6 delayed 300 ms, the IPv4 attempt started after 250 ms wins; the IPv6 one is dropped",
    async () => {
      // Undelayed, both families reach the server.
      await pair.shape({})
      for (const address of [pair.serverV6, pair.serverV4]) {
        const direct = await client.call({ op: "connect", host: address, port: PORT })
        console.info(`undelayed connect to ${address}: ${direct.ms} ms`)
        expect(direct).toMatchObject({
          family: address.includes(":") ? "IPv6" : "IPv4"
        })
      }
      expect(await client.call({ op: "close" })).toEqual({ ok: true })
      const before = (await server.call({ op: "stats" })).accepted.length

      await pair.shape({ both: { v6: { delay: 300 } } })
      const connected = await client.call({
        op: "connect",
        host: "server.test",
        port: PORT,
        addresses: [pair.serverV6, pair.serverV4]
      })
      console.info(`happy eyeballs under a 300 ms IPv6 delay: connected over ${connected.family} in ${connected.ms} ms`)
      expect(connected).toMatchObject({ family: "IPv4", remote: [pair.serverV4, PORT] })
      expect(connected.ms).toBeGreaterThan(200)
      expect(connected.ms).toBeLessThan(1500)
      // The IPv6 attempt was closed when IPv4 won: no IPv6 socket is left in the client, and its
      // late SYN-ACK (600 ms round trip) is answered by a reset, so the server never accepts it.
      expect(sockets(pair.client, pair.serverV6, live)).toEqual([])
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(sockets(pair.client, pair.serverV6, live)).toEqual([])
      expect(sockets(pair.server, pair.clientV6, live)).toEqual([])
      const stats = await server.call({ op: "stats" })
      expect(stats.accepted.slice(before)).toEqual([{ family: expect.any(String), host: `::ffff:${pair.clientV4}` }])
      expect(await client.call({ op: "roundtrip", payload: "over IPv4" })).toEqual({ payload: "over IPv4" })
      expect(await client.call({ op: "close" })).toEqual({ ok: true })
    },
    20_000
  )

  for (const tls of [false, true]) {
    it(
      `(b) 2 MiB over ${
        tls ? "TLS" : "TCP"
      } with 50 ms delay, 5% loss and reordering arrives intact; the connection stays usable`,
      async () => {
        await pair.shape({})
        const connected = await client.call({
          op: "connect",
          host: pair.serverV4,
          port: tls ? TLS_PORT : PORT,
          ...(tls ? { tls: { ca: certs().ca.cert, hostname: "localhost" } } : {})
        })
        expect(connected).toMatchObject({ family: "IPv4" })
        // 50 ms one way (client to server), lossy and reordering both ways.
        await pair.shape({
          ab: { any: { delay: 50, loss: 5, reorder: 5 } },
          ba: { any: { loss: 5, reorder: 5 } }
        })
        const before = await pair.stats()
        const moved = await client.call({ op: "transfer", bytes: 2 * MiB }, 90_000)
        const after = await pair.stats()
        console.info(
          `${tls ? "TLS" : "TCP"}: 2 MiB echoed in ${moved.ms} ms; relay dropped ${
            after.ab.dropped - before.ab.dropped
          } + ${after.ba.dropped - before.ba.dropped}, reordered ${after.ab.reordered - before.ab.reordered} + ${
            after.ba.reordered - before.ba.reordered
          }`
        )
        expect(moved.received).toBe(moved.sent)
        expect(after.ab.dropped - before.ab.dropped).toBeGreaterThan(0)
        expect(after.ab.reordered - before.ab.reordered).toBeGreaterThan(0)
        expect(await client.call({ op: "roundtrip", payload: "still here" }, 20_000)).toEqual({ payload: "still here" })
        expect(await client.call({ op: "close" })).toEqual({ ok: true })
        await pair.shape({})
      },
      120_000
    )
  }

  it("(c) a black-holed connect (100% loss) ends through Effect.timeout promptly and leaves no socket", async () => {
    await pair.shape({ both: { any: { loss: 100 } } })
    const result = await client.call({ op: "connect", host: pair.serverV4, port: PORT, timeoutMs: 1000 })
    expect(result).toMatchObject({ timeout: true })
    expect(result.ms).toBeGreaterThanOrEqual(900)
    expect(result.ms).toBeLessThan(3000)
    expect(sockets(pair.client, pair.serverV4, ["syn-sent"])).toEqual([])
    const dropped = await pair.stats()
    expect(dropped.ab.dropped).toBeGreaterThan(0)
    // The link back: the same client connects and echoes.
    await pair.shape({})
    expect(await client.call({ op: "connect", host: pair.serverV4, port: PORT })).toMatchObject({ family: "IPv4" })
    expect(await client.call({ op: "roundtrip", payload: "back" })).toEqual({ payload: "back" })
    expect(await client.call({ op: "close" })).toEqual({ ok: true })
  }, 20_000)
})
