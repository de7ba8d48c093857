/**
 * The benchmark suite: every workload, every implementation, on every selected Node line,
 * alternated (A B C A B C …) over several rounds, each run in a fresh process. Prints a table of
 * medians (min–max) and ratios to the workload's baseline (raw Node unless it says otherwise)
 * measured on the same Node line in the same run, and writes bench/results/latest.json and
 * latest.svg.
 *
 *   npm run bench                 full sizes, 5 rounds, Node lines: this node and 24
 *   npm run bench -- --quick      small sizes, 1 round, this node only, two runs at a time (the
 *                                 CI smoke run: asserts nothing about speed)
 *   npm run bench -- --only W2,W3 --rounds 3
 *   npm run bench -- --nodes 20,22,24     Node lines by major (others than this node's come
 *                                         from scripts/node-lines.sh, cached)
 *   npm run bench -- --only W4 --out w4   writes bench/results/w4.{json,svg}
 *
 * The Effect 4.1 peer (bench/effect4/, its own lock file) runs on the lines >= 22.19 only;
 * bench/lines.ts installs it on first use (npm ci --prefix bench/effect4).
 * A run limited by --only writes bench/results/partial.* (not latest.*) unless --out names it.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { Result, Workload } from "./lib.js"
import { listImpls, type NodeLine, nodeLines, pool, repoRoot, runsOn, type Worker, workers } from "./lines.js"
import { renderSvg } from "./svg.js"
import { workloads } from "./workloads/index.js"

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    jobs: { type: "string" },
    only: { type: "string" },
    rounds: { type: "string" },
    out: { type: "string" },
    nodes: { type: "string" }
  },
  strict: true
})
const quick = values.quick ?? false
const rounds = Number(values.rounds ?? (quick ? 1 : 5))
// Runs side by side disturb each other's figures: only the smoke run, whose figures mean nothing, runs two at a time.
const jobs = Number(values.jobs ?? (quick ? 2 : 1))
const only = values.only?.split(",")
const here = path.dirname(fileURLToPath(import.meta.url))
const RUN_TIMEOUT_MS = quick ? 60_000 : 300_000
const currentMajor = Number(process.versions.node.split(".")[0])
const majors = values.nodes
  ? values.nodes.split(",").map(Number)
  : quick
  ? [currentMajor]
  : [...new Set([currentMajor, 24])]
if (majors.some((m) => !Number.isInteger(m))) throw new Error(`--nodes takes majors, e.g. --nodes 20,24`)
const lines = nodeLines(majors)

/** The workers that run on at least one line, made ready; a note for each one that cannot. */
const notes: Array<string> = []
const ready: Array<Worker> = workers.filter((worker) => {
  const eligible = lines.filter((line) => runsOn(worker, line))
  if (eligible.length === 0) {
    if (worker.minNode) notes.push(`${worker.name}: skipped (needs Node >= ${worker.minNode}; add --nodes 24)`)
    return false
  }
  const problem = worker.prepare?.()
  if (problem) notes.push(`${worker.name}: skipped: ${problem}`)
  return problem === undefined
})
/** Each worker's implementations per workload id (the root worker's straight from its modules). */
const implsOf = new Map<Worker, Record<string, ReadonlyArray<string>>>(ready.map((worker) => [
  worker,
  worker.name === "root"
    ? Object.fromEntries(workloads.map((w) => [w.id, Object.keys(w.impls)]))
    : listImpls(worker, lines.find((line) => runsOn(worker, line))!)
]))

const runWorker = (workload: Workload, line: NodeLine, worker: Worker, impl: string): Promise<Result> =>
  new Promise((resolve, reject) => {
    const params = quick ? workload.params.quick : workload.params.full
    execFile(
      line.bin,
      ["--import", "tsx", worker.script, workload.id, impl, JSON.stringify(params)],
      { cwd: repoRoot, timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          return reject(new Error(`${workload.id} ${impl} on Node ${line.version}: ${error.message}\n${stderr}`))
        }
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
  /** The Node version the row ran on. */
  readonly node: string
  readonly impl: string
  readonly median: number
  readonly min: number
  readonly max: number
  /** To the workload's baseline on the same Node line. */
  readonly ratio: number
  readonly baseline: string
  readonly peakRssMiB: number
}

const rows: Array<Row> = []
// "--only W3" selects W3 and its variants (W3c): an id is its group's id plus lowercase letters.
const selected = (id: string) => !only || only.includes(id) || only.includes(id.replace(/[a-z]+$/, ""))
for (const workload of workloads.filter((w) => selected(w.id))) {
  const runs = lines.flatMap((line) =>
    ready.filter((worker) => runsOn(worker, line)).flatMap((worker) =>
      (implsOf.get(worker)![workload.id] ?? []).map((impl) => ({ line, worker, impl, samples: [] as Array<Result> }))
    )
  )
  for (let round = 0; round < rounds; round++) {
    await pool(
      runs.map((run) => async () => {
        run.samples.push(await runWorker(workload, run.line, run.worker, run.impl))
        process.stderr.write(".")
      }),
      jobs
    )
  }
  const baseline = workload.baseline ?? "raw"
  for (const run of runs) {
    const figures = run.samples.map((r) => r.value)
    const base = runs.find((r) => r.line === run.line && r.impl === baseline)!
    rows.push({
      workload: workload.id,
      title: workload.title,
      unit: workload.unit,
      node: run.line.version,
      impl: run.impl,
      median: median(figures),
      min: Math.min(...figures),
      max: Math.max(...figures),
      ratio: median(figures) / median(base.samples.map((r) => r.value)),
      baseline,
      peakRssMiB: median(run.samples.map((r) => r.peakRssMiB))
    })
  }
}
process.stderr.write("\n")

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1))
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${
  Math.round(os.totalmem() / 2 ** 30)
} GiB, Node ${lines.map((l) => l.version).join(" and ")}, ${os.type()} ${os.release()}`
const table = [
  `effect-sockets benchmark — ${quick ? "quick (smoke) run" : "full run"}, ${rounds} round(s), medians (min–max)`,
  `machine: ${machine}`,
  ...notes.map((note) => `note: ${note}`),
  "",
  "| workload | Node | implementation | figure | min–max | × baseline | peak RSS MiB |",
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.workload} ${r.title} (${r.unit}) | ${r.node} | ${r.impl} | ${fmt(r.median)} | ${fmt(r.min)}–${
      fmt(r.max)
    } | ${r.ratio.toFixed(2)}×${r.baseline === "raw" ? "" : ` ${r.baseline}`} | ${r.peakRssMiB.toFixed(0)} |`
  )
]
console.log(table.join("\n"))

const results = path.join(here, "results")
fs.mkdirSync(results, { recursive: true })
const name = values.out ?? (quick ? "quick" : only ? "partial" : "latest")
fs.writeFileSync(
  path.join(results, `${name}.json`),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine,
      quick,
      rounds,
      nodes: lines.map((l) => l.version),
      notes,
      rows
    },
    null,
    2
  ) + "\n"
)
fs.writeFileSync(path.join(results, `${name}.svg`), renderSvg(rows, `${quick ? "quick run" : "full run"} — ${machine}`))
console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`)
