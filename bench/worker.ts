/**
 * Runs one implementation of one workload in this fresh process and prints one JSON line:
 * `{ "value": figure, "peakRssMiB": … }`.  Usage: worker.ts <workload> <impl> <params JSON>,
 * or `worker.ts --list`. The Effect 4 peer has its own worker, bench/effect4/worker.ts.
 */
import { workerMain } from "./lib.js"
import { workloads } from "./workloads/index.js"

await workerMain(
  Object.fromEntries(workloads.map((w) => [w.id, w.impls])),
  (id, impl) => workloads.find((w) => w.id === id)?.env?.[impl] ?? {}
)
