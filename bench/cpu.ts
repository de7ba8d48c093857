/**
 * Where the time goes: CPU per 64-byte round trip, raw Node against an effect-sockets server,
 * both served to raw Node clients in the same process (the W3 shape), at 1 and 200 concurrent
 * connections. Each measurement is a fresh process; implementations alternate; medians.
 *
 *   npx tsx bench/cpu.ts              3 rounds
 *   npx tsx bench/cpu.ts --rounds 5
 *
 * The difference between the rows is what one effect-sockets end costs per message on top of
 * Node's own work (the README's performance section quotes it). Asserts nothing.
 */
import { execFileSync } from "node:child_process"
import { parseArgs } from "node:util"
import { tcpWorkloads } from "./workloads/tcp.js"

const TOTAL_ROUND_TRIPS = 100_000

const measureOne = async (impl: string, connections: number): Promise<void> => {
  const workload = tcpWorkloads.find((w) => w.id === "W3")!
  const rounds = Math.round(TOTAL_ROUND_TRIPS / connections)
  const before = process.cpuUsage()
  const rate = await workload.impls[impl]!({ connections, rounds })
  const cpu = process.cpuUsage(before)
  const n = connections * rounds
  console.log(JSON.stringify({ rate, user: cpu.user / n, system: cpu.system / n }))
}

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: { rounds: { type: "string" }, one: { type: "string" }, connections: { type: "string" } }
  })
  if (values.one !== undefined) return measureOne(values.one, Number(values.connections))
  const rounds = Number(values.rounds ?? 3)
  const impls = ["raw", "effect-sockets"]
  console.log("| concurrent connections | server | round trips/s | user µs per round trip | system µs per round trip |")
  console.log("|---|---|---|---|---|")
  for (const connections of [1, 200]) {
    const samples = new Map(impls.map((impl) => [impl, [] as Array<{ rate: number; user: number; system: number }>]))
    for (let round = 0; round < rounds; round++) {
      for (const impl of impls) {
        const out = execFileSync(process.execPath, [
          "--import",
          "tsx",
          new URL(import.meta.url).pathname,
          "--one",
          impl,
          "--connections",
          String(connections)
        ], { encoding: "utf8", timeout: 120_000 })
        samples.get(impl)!.push(JSON.parse(out.trim().split("\n").at(-1)!))
      }
    }
    for (const impl of impls) {
      const s = samples.get(impl)!
      console.log(
        `| ${connections} | ${impl} | ${Math.round(median(s.map((x) => x.rate))).toLocaleString("en-US")} | ${
          median(s.map((x) => x.user)).toFixed(1)
        } | ${median(s.map((x) => x.system)).toFixed(1)} |`
      )
    }
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
