/**
 * A throw-away LAN of network namespaces for multi-host tests (needs root and `ip netns`).
 *
 * `buildLan` makes, with names unique to this process (its pid): a namespace holding only a
 * bridge `br0`, and one namespace per host, each with an `eth0` veth whose other end is a port
 * of the bridge. Hosts get 10.77.0.(i+1)/24 and fd77::(i+1)/64 and no default route, so
 * anything outside 10.77.0.0/24 is unreachable. Nothing is created in the caller's namespace
 * (each veth is made inside the bridge namespace and its peer moved straight into its host's).
 * `teardown` deletes every namespace it made (their veths and bridge go with them).
 *
 * `buildRoutedPair` makes a routed client/server pair joined by a userspace relay instead (this
 * kernel has no netem qdisc): namespaces A (client, 10.78.0.1 / fd78::1) and B (server,
 * 10.78.0.2 / fd78::2), each with one TUN device, and a third namespace R where
 * `test/multihost/fixtures/tun-relay.py` runs. The relay opens both TUN devices in R, then they
 * are moved into A and B (the relay's fds keep working across the move) and addressed there; a
 * /24 and a /64 on each TUN route everything between A and B through the relay, which delays,
 * drops or reorders packets per direction and IP version as `shape` says. The relay exits when
 * its stdin ends (`teardown` kills it at once) or after its `--lifetime`.
 *
 * `spawnPeer` runs a fixture (default `test/multihost/fixtures/peer.ts`: a UDP socket of ours)
 * inside a namespace, driven by JSON lines (see that file).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"

const root = path.resolve(import.meta.dirname, "../..")
const ip = (...args: Array<string>) => execFileSync("ip", args, { stdio: "pipe", timeout: 10_000 })

/** Why the multi-host tests cannot run here, or undefined if they can (probes `ip netns add`). */
export const unavailable = (): string | undefined => {
  if (process.platform !== "linux") return "not Linux"
  if (process.getuid?.() !== 0) return "not root"
  const probe = `esprobe${process.pid}`
  try {
    ip("netns", "add", probe)
  } catch (error) {
    return `ip netns add failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`
  }
  try {
    ip("netns", "del", probe)
  } catch {
    // best effort
  }
  return undefined
}

export interface Lan {
  /** The namespace of host i (0-based), whose address is `v4(i)` / `v6(i)`. */
  readonly hosts: ReadonlyArray<string>
  readonly bridge: string
  readonly v4: (i: number) => string
  readonly v6: (i: number) => string
  readonly broadcast: string
}

const made: Array<string> = []

/** Builds the LAN with `count` hosts. On failure, what was made so far is left for `teardown`. */
export const buildLan = (count: number): Lan => {
  const tag = `es${process.pid}`
  const bridge = `${tag}br`
  const hosts = Array.from({ length: count }, (_, i) => `${tag}h${i}`)
  const v4 = (i: number) => `10.77.0.${i + 1}`
  const v6 = (i: number) => `fd77::${i + 1}`
  for (const ns of [bridge, ...hosts]) {
    ip("netns", "add", ns)
    made.push(ns)
    ip("-n", ns, "link", "set", "lo", "up")
  }
  ip("-n", bridge, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
  ip("-n", bridge, "link", "set", "br0", "up")
  hosts.forEach((ns, i) => {
    const port = `p${i}`
    ip("-n", bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("-n", bridge, "link", "set", port, "master", "br0")
    ip("-n", bridge, "link", "set", port, "up")
    ip("-n", ns, "addr", "add", `${v4(i)}/24`, "dev", "eth0")
    ip("-n", ns, "addr", "add", `${v6(i)}/64`, "dev", "eth0", "nodad")
    ip("-n", ns, "link", "set", "eth0", "up")
  })
  return { hosts, bridge, v4, v6, broadcast: "10.77.0.255" }
}

/** Shaping for one direction and IP version: delay in ms, loss and reorder in percent. */
export interface Shape {
  readonly delay?: number
  readonly loss?: number
  readonly reorder?: number
  /** How much longer (ms) a reordered packet is held, so later ones overtake it (default 20). */
  readonly reorderExtra?: number
}

/** Per direction (`ab`: client to server, `ba`: back, `both`) and version (`v4`, `v6`, `any`). */
export type Shaping = Partial<
  Record<"ab" | "ba" | "both", Partial<Record<"v4" | "v6" | "any", Shape>>>
>

export interface RoutedPair {
  readonly client: string
  readonly server: string
  readonly relay: string
  readonly clientV4: string
  readonly clientV6: string
  readonly serverV4: string
  readonly serverV6: string
  /** Replaces the relay's shaping (what is not named is not shaped); resolves once applied. */
  readonly shape: (shaping: Shaping) => Promise<void>
  /** The relay's counters per direction. */
  readonly stats: () => Promise<Record<"ab" | "ba", { forwarded: number; dropped: number; reordered: number }>>
}

const relays = new Set<ChildProcess>()

/**
 * Builds the relayed pair (see the module comment). On failure, what was made so far is left for
 * `teardown`. `lifetimeSeconds` bounds the relay even if nobody tears it down.
 */
export const buildRoutedPair = async (lifetimeSeconds = 120): Promise<RoutedPair> => {
  const tag = `es${process.pid}`
  const [client, server, relay] = [`${tag}a`, `${tag}b`, `${tag}r`]
  for (const ns of [relay, client, server]) {
    ip("netns", "add", ns)
    made.push(ns)
    ip("-n", ns, "link", "set", "lo", "up")
  }
  const [tunA, tunB] = [`${tag}ta`, `${tag}tb`]
  const child = spawn("ip", [
    "netns",
    "exec",
    relay,
    "python3",
    path.join(root, "test/multihost/fixtures/tun-relay.py"),
    "--a",
    tunA,
    "--b",
    tunB,
    "--lifetime",
    String(lifetimeSeconds)
  ], { stdio: ["pipe", "pipe", "pipe"] })
  relays.add(child)
  child.on("close", () => relays.delete(child))
  let stderr = ""
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const waiting: Array<(line: string) => void> = []
  readline.createInterface({ input: child.stdout! }).on("line", (line) => waiting.shift()?.(line))
  const next = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tun relay: no answer to ${what} in 10 s\n${stderr}`)), 10_000)
      waiting.push((line) => {
        clearTimeout(timer)
        resolve(line)
      })
    })
  const ready = await next("start")
  if (ready !== "ready") throw new Error(`tun relay did not start: ${ready}\n${stderr}`)
  const ends: Array<[string, string, string, string]> = [
    [client, tunA, "10.78.0.1", "fd78::1"],
    [server, tunB, "10.78.0.2", "fd78::2"]
  ]
  for (const [ns, tun, v4, v6] of ends) {
    ip("-n", relay, "link", "set", tun, "netns", ns)
    ip("-n", ns, "addr", "add", `${v4}/24`, "dev", tun)
    ip("-n", ns, "addr", "add", `${v6}/64`, "dev", tun, "nodad")
    ip("-n", ns, "link", "set", tun, "up")
  }
  const command = async (value: unknown, what: string) => {
    const answer = next(what)
    child.stdin!.write(JSON.stringify(value) + "\n")
    return answer
  }
  return {
    client,
    server,
    relay,
    clientV4: "10.78.0.1",
    clientV6: "fd78::1",
    serverV4: "10.78.0.2",
    serverV6: "fd78::2",
    shape: async (shaping) => {
      const answer = await command(Object.keys(shaping).length === 0 ? { reset: true } : shaping, "shape")
      if (answer !== "ok") throw new Error(`tun relay refused ${JSON.stringify(shaping)}: ${answer}`)
    },
    stats: async () => JSON.parse(await command({ stats: true }, "stats"))
  }
}

/** Deletes every namespace `buildLan` or `buildRoutedPair` made (ignoring ones already gone); kills the relays. */
export const teardown = (): void => {
  for (const relay of relays) {
    relay.kill("SIGKILL")
    relays.delete(relay)
  }
  for (const ns of made.splice(0).reverse()) {
    try {
      ip("netns", "del", ns)
    } catch {
      // already gone
    }
  }
}

export interface Peer {
  /** Sends one command; its answer, or a rejection after `timeoutMs`. */
  readonly call: (command: Record<string, unknown>, timeoutMs?: number) => Promise<any>
  /** Ends stdin (the peer closes its socket and exits); kills it if it has not exited in 5 s. */
  readonly stop: () => Promise<void>
}

const peers = new Set<Peer>()

/** Starts a fixture (default: our UDP peer) inside namespace `ns`. */
export const spawnPeer = (ns: string, fixture = "test/multihost/fixtures/peer.ts"): Peer => {
  const child = spawn("ip", [
    "netns",
    "exec",
    ns,
    process.execPath,
    "--import",
    "tsx/esm",
    fixture
  ], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const waiting: Array<(line: string) => void> = []
  const lines: Array<string> = []
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    const next = waiting.shift()
    if (next) next(line)
    else lines.push(line)
  })
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
  const peer: Peer = {
    call: (command, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`peer in ${ns}: no answer to ${JSON.stringify(command)} in ${timeoutMs} ms\n${stderr}`)),
          timeoutMs
        )
        const take = (line: string) => {
          clearTimeout(timer)
          resolve(JSON.parse(line))
        }
        const ready = lines.shift()
        if (ready !== undefined) take(ready)
        else waiting.push(take)
        child.stdin.write(JSON.stringify(command) + "\n")
      }),
    stop: async () => {
      peers.delete(peer)
      child.stdin.end()
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
      await exited
      clearTimeout(timer)
    }
  }
  peers.add(peer)
  return peer
}

/** Stops every peer still running. */
export const stopPeers = (): Promise<void> => Promise.all([...peers].map((peer) => peer.stop())).then(() => {})
