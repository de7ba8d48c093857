/**
 * Runs one implementation of one workload in this fresh process and prints one JSON line:
 * `{ "value": figure, "peakRssMiB": … }`.  Usage: worker.ts <workload> <impl> <params JSON>
 */
import { peakRssMiB, type Result } from "./lib.js"
import { workloads } from "./workloads/index.js"

const [id, impl, paramsJson] = process.argv.slice(2)
const workload = workloads.find((w) => w.id === id)
const run = workload?.impls[impl ?? ""]
if (!workload || !run) {
  console.error(`unknown workload/implementation: ${id} ${impl}`)
  process.exit(2)
}
// Per-implementation environment (read lazily by the library, e.g. EFFECT_SOCKETS_DISABLE_ADDON).
Object.assign(process.env, workload.env?.[impl!] ?? {})
const value = await run(JSON.parse(paramsJson ?? "{}"))
const result: Result = { value, peakRssMiB: peakRssMiB() }
console.log(JSON.stringify(result))
process.exit(0)
