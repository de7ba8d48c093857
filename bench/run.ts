/**
 * The benchmark suite: every workload, every implementation, alternated (A B C A B C …) over
 * several rounds, each run in a fresh process. Prints a table of medians (min–max) and ratios
 * to raw Node measured in the same run, and writes bench/results/latest.json and latest.svg.
 *
 *   npm run bench                 full sizes, 5 rounds
 *   npm run bench -- --quick      small sizes, 1 round (CI smoke run: asserts nothing about speed)
 *   npm run bench -- --only W2,W3 --rounds 3
 *   npm run bench -- --only W4 --out w4   writes bench/results/w4.{json,svg}
 *
 * A run limited by --only writes bench/results/partial.* (not latest.*) unless --out names it.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { Result, Workload } from "./lib.js"
import { renderSvg } from "./svg.js"
import { workloads } from "./workloads/index.js"

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    only: { type: "string" },
    rounds: { type: "string" },
    out: { type: "string" }
  },
  strict: true
})
const quick = values.quick ?? false
const rounds = Number(values.rounds ?? (quick ? 1 : 5))
const only = values.only?.split(",")
const here = path.dirname(fileURLToPath(import.meta.url))
const RUN_TIMEOUT_MS = quick ? 60_000 : 300_000

const runWorker = (workload: Workload, impl: string): Promise<Result> =>
  new Promise((resolve, reject) => {
    const params = quick ? workload.params.quick : workload.params.full
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(here, "worker.ts"), workload.id, impl, JSON.stringify(params)],
      { timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${workload.id} ${impl}: ${error.message}\n${stderr}`))
        resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Result)
      }
    )
  })

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export interface Row {
  readonly workload: string
  readonly title: string
  readonly unit: string
  readonly impl: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly ratio: number
  readonly peakRssMiB: number
}

const rows: Array<Row> = []
// "--only W3" selects W3 and its variants (W3c): an id is its group's id plus lowercase letters.
const selected = (id: string) => !only || only.includes(id) || only.includes(id.replace(/[a-z]+$/, ""))
for (const workload of workloads.filter((w) => selected(w.id))) {
  const impls = Object.keys(workload.impls)
  const samples: Record<string, Array<Result>> = Object.fromEntries(impls.map((i) => [i, []]))
  for (let round = 0; round < rounds; round++) {
    for (const impl of impls) {
      samples[impl]!.push(await runWorker(workload, impl))
      process.stderr.write(".")
    }
  }
  const rawMedian = median(samples["raw"]!.map((r) => r.value))
  for (const impl of impls) {
    const figures = samples[impl]!.map((r) => r.value)
    rows.push({
      workload: workload.id,
      title: workload.title,
      unit: workload.unit,
      impl,
      median: median(figures),
      min: Math.min(...figures),
      max: Math.max(...figures),
      ratio: median(figures) / rawMedian,
      peakRssMiB: median(samples[impl]!.map((r) => r.peakRssMiB))
    })
  }
}
process.stderr.write("\n")

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1))
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${
  Math.round(os.totalmem() / 2 ** 30)
} GiB, Node ${process.versions.node}, ${os.type()} ${os.release()}`
const lines = [
  `effect-sockets benchmark — ${quick ? "quick (smoke) run" : "full run"}, ${rounds} round(s), medians (min–max)`,
  `machine: ${machine}`,
  "",
  "| workload | implementation | figure | min–max | × raw | peak RSS MiB |",
  "|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.workload} ${r.title} (${r.unit}) | ${r.impl} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${
      r.ratio.toFixed(2)
    }× | ${r.peakRssMiB.toFixed(0)} |`
  )
]
console.log(lines.join("\n"))

const results = path.join(here, "results")
fs.mkdirSync(results, { recursive: true })
const name = values.out ?? (quick ? "quick" : only ? "partial" : "latest")
fs.writeFileSync(
  path.join(results, `${name}.json`),
  JSON.stringify({ date: new Date().toISOString(), machine, quick, rounds, rows }, null, 2) + "\n"
)
fs.writeFileSync(path.join(results, `${name}.svg`), renderSvg(rows, `${quick ? "quick run" : "full run"} — ${machine}`))
console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`)
