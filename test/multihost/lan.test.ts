/**
 * UDP across hosts: a LAN of network namespaces made for this run (test/helpers/netns.ts: a
 * bridge and three hosts, 10.77.0.1-3/24, no default route), with our UDP socket running inside
 * each host as a child process (test/multihost/fixtures/peer.ts). Broadcast refusals belong to
 * their own sendto and are never delivered later; broadcast reaches two other hosts; IPv4
 * multicast on a chosen interface reaches both members while joined and none after leaving;
 * an unroutable destination fails its own sendto and the socket keeps working.
 *
 * Skipped, with the reason, where `ip netns add` is not possible (not root, no iproute2, …).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildLan, type Lan, type Peer, spawnPeer, stopPeers, teardown, unavailable } from "../helpers/netns.js"

const why = unavailable()
if (why !== undefined) console.warn(`test/multihost skipped: ${why}`)

const PORT = 47_700
const GROUP = "239.77.0.1"

describe.skipIf(why !== undefined)(`multi-host LAN in network namespaces${why ? ` (skipped: ${why})` : ""}`, () => {
  let lan: Lan
  let sender: Peer
  let receivers: Array<Peer>

  /** What each receiver got within `ms` (its payload, or "timeout"). */
  const received = (ms = 1000) =>
    Promise.all(receivers.map(async (r) => {
      const got = await r.call({ op: "receive", ms })
      return got.timeout ? "timeout" : got.payload
    }))

  /**
   * A fresh sender socket on host 0, bound to its address (or the wildcard address); the
   * previous one is replaced (its scope lives until the peer exits).
   */
  const freshSender = async (wildcard = false) => {
    const opened = await sender.call(
      wildcard ? { op: "open", family: "IPv4" } : { op: "open", family: "IPv4", localHost: lan.v4(0) }
    )
    expect(opened).toEqual({ port: expect.any(Number) })
  }

  beforeAll(async () => {
    try {
      lan = buildLan(3)
      sender = spawnPeer(lan.hosts[0]!)
      receivers = [spawnPeer(lan.hosts[1]!), spawnPeer(lan.hosts[2]!)]
      // The first answer of each peer waits for node + tsx to start (seconds on a loaded machine).
      const opened = await Promise.all([
        sender.call({ op: "open", family: "IPv4", localHost: lan.v4(0) }, 45_000),
        ...receivers.map((r) => r.call({ op: "open", family: "IPv4", localPort: PORT }, 45_000))
      ])
      expect(opened).toEqual([{ port: expect.any(Number) }, { port: PORT }, { port: PORT }])
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

  it("(a) a broadcast with broadcast disabled fails its own sendto (PermissionDenied); the next unicast succeeds and arrives", async () => {
    expect(await sender.call({ op: "sendto", payload: "broadcast", host: lan.broadcast, port: PORT })).toMatchObject({
      error: { _tag: "BrokenResourceError", reason: "PermissionDenied", operation: "send" }
    })
    expect(await sender.call({ op: "sendto", payload: "unicast", host: lan.v4(1), port: PORT })).toEqual({ ok: true })
    expect(await receivers[0]!.call({ op: "receive", ms: 2000 })).toEqual({
      payload: "unicast",
      from: [lan.v4(0), expect.any(Number)]
    })
    expect(await received(300)).toEqual(["timeout", "timeout"])
  })

  it("(b) a broadcast sent before setBroadcast(true) is refused, not delivered later; after it broadcasts work", async () => {
    await freshSender()
    expect(
      await sender.call({ op: "sendtoThenEnableBroadcast", payload: "too early", host: lan.broadcast, port: PORT })
    ).toMatchObject({ error: { _tag: "BrokenResourceError", reason: "PermissionDenied" } })
    expect(await received(500)).toEqual(["timeout", "timeout"])
    expect(await sender.call({ op: "sendto", payload: "now", host: lan.broadcast, port: PORT })).toEqual({ ok: true })
    expect(await received(2000)).toEqual(["now", "now"])
  })

  it("(c) with setBroadcast(true) a broadcast reaches the receivers on both other hosts", async () => {
    await freshSender()
    expect(await sender.call({ op: "setBroadcast", enabled: true })).toEqual({ ok: true })
    for (const n of [1, 2, 3]) {
      expect(await sender.call({ op: "sendto", payload: `all ${n}`, host: lan.broadcast, port: PORT })).toEqual({
        ok: true
      })
      expect(await received(2000)).toEqual([`all ${n}`, `all ${n}`])
    }
  })

  it("(d) IPv4 multicast on a chosen interface reaches both members while joined, none after leaving", async () => {
    await freshSender(true)
    // Bound to the wildcard address and no route covering multicast: without an outgoing
    // interface the sendto itself fails.
    expect(await sender.call({ op: "sendto", payload: "nowhere", host: GROUP, port: PORT })).toMatchObject({
      error: { _tag: "BrokenResourceError", reason: "NetworkUnreachable" }
    })
    // Joining without naming an interface: the kernel has none to choose (ENODEV).
    expect(await receivers[0]!.call({ op: "join", group: GROUP })).toMatchObject({
      error: { _tag: "BrokenResourceError", reason: "NoSuchDevice", operation: "joinMulticast" }
    })
    // An address no interface of this host has; a malformed one.
    expect(await sender.call({ op: "setMulticastInterface", address: "10.77.0.99" })).toMatchObject({
      error: { _tag: "BrokenResourceError", reason: "AddressNotAvailable" }
    })
    expect(await sender.call({ op: "setMulticastInterface", address: "10.77.0" })).toMatchObject({
      error: { _tag: "InvalidArgumentError" }
    })
    expect(await sender.call({ op: "setMulticastInterface", address: lan.v4(0) })).toEqual({ ok: true })
    for (const [i, r] of receivers.entries()) {
      expect(await r.call({ op: "join", group: GROUP, interface: lan.v4(i + 1) })).toEqual({ ok: true })
    }
    expect(await sender.call({ op: "sendto", payload: "joined", host: GROUP, port: PORT })).toEqual({ ok: true })
    expect(await received(2000)).toEqual(["joined", "joined"])
    for (const r of receivers) expect(await r.call({ op: "leave", group: GROUP })).toEqual({ ok: true })
    expect(await sender.call({ op: "sendto", payload: "left", host: GROUP, port: PORT })).toEqual({ ok: true })
    expect(await received(500)).toEqual(["timeout", "timeout"])
  })

  it("(e) a destination with no route fails its own sendto (NetworkUnreachable); the socket keeps working", async () => {
    await freshSender()
    expect(await sender.call({ op: "sendto", payload: "lost", host: "10.99.0.1", port: PORT })).toMatchObject({
      error: { _tag: "BrokenResourceError", reason: "NetworkUnreachable", operation: "send" }
    })
    expect(await sender.call({ op: "sendto", payload: "after", host: lan.v4(2), port: PORT })).toEqual({ ok: true })
    expect(await receivers[1]!.call({ op: "receive", ms: 2000 })).toMatchObject({ payload: "after" })
    expect(await received(300)).toEqual(["timeout", "timeout"])
  })
})
