/**
 * Type-checks every `@example` in the TSDoc of src/: each ```ts block becomes its own module under
 * scratch/examples/ and is compiled with tsc, so documentation cannot drift from the API.
 * Examples must be self-contained (they import what they use); only an example with no import
 * lines at all gets a standard prelude, and its generated file says so.
 *
 * The Effect 4 edition's examples (src/effect4/) compile in scratch/examples-effect4/, whose
 * node_modules links to test/effect4/node_modules (effect 4.1), as src/effect4's own does.
 *
 * Run: npx tsx scripts/check-examples.ts
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const srcDir = path.join(root, "src")
const effect4Dir = path.join(srcDir, "effect4")

interface Example {
  file: string
  fenceLine: number
  lines: Array<string>
}

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  ).sort()

// ```ts blocks that follow an @example tag inside a /** ... */ comment (until the next tag)
const extract = (file: string): Array<Example> => {
  const examples: Array<Example> = []
  let inDoc = false, inExample = false, block: Example | undefined
  fs.readFileSync(file, "utf8").split("\n").forEach((raw, i) => {
    if (!inDoc && /^\s*\/\*\*/.test(raw)) inDoc = true
    if (!inDoc) return
    const text = raw.replace(/^\s*(\/\*\*|\*\/|\*(?!\/))? ?/, "")
    if (block) {
      if (!/^\s*```\s*$/.test(text)) block.lines.push(text)
      else {
        examples.push(block)
        block = undefined
      }
    } else if (/^\s*@example\b/.test(text)) inExample = true
    else if (/^\s*@\w/.test(text)) inExample = false
    else if (inExample && /^\s*```(ts|typescript)\s*$/.test(text)) block = { file, fenceLine: i + 1, lines: [] }
    if (raw.includes("*/")) inDoc = inExample = false
  })
  return examples
}

// "effect-sockets" -> ../../src/index.js, "effect-sockets/X" -> ../../src/X/index.js or ../../src/X.js
const mapSpecifier = (sub: string | undefined): string => {
  if (!sub) return "../../src/index.js"
  const indexFile = path.join(srcDir, sub, "index.ts")
  return fs.existsSync(indexFile) ? `../../src/${sub}/index.js` : `../../src/${sub}.js`
}
const rewrite = (line: string) =>
  line.replace(
    /(["'])effect-sockets(?:\/([^"']+))?\1/g,
    (_m, q: string, sub?: string) => `${q}${mapSpecifier(sub)}${q}`
  )

const prelude = [
  `import { Effect, Layer, Stream, Console } from "effect"`,
  `import { ByteStream, Datagram, Listener, NetError, Socket } from "${mapSpecifier(undefined)}"`
]

// generated file name -> [example, number of generated lines before the example body]
const generated = new Map<string, [Example, number]>()
const counters = new Map<string, number>()
const groups = [
  {
    outDir: path.join(root, "scratch", "examples"),
    edition: (file: string) => !file.startsWith(effect4Dir + path.sep)
  },
  {
    outDir: path.join(root, "scratch", "examples-effect4"),
    edition: (file: string) => file.startsWith(effect4Dir + path.sep)
  }
]
const all = walk(srcDir).filter((file) => !file.includes(`${path.sep}node_modules${path.sep}`)).flatMap(extract)
let output = ""
let status = 0
for (const { edition, outDir } of groups) {
  fs.rmSync(outDir, { recursive: true, force: true })
  fs.mkdirSync(outDir, { recursive: true })
  if (outDir.endsWith("examples-effect4")) {
    fs.symlinkSync(
      path.relative(outDir, path.join(root, "test", "effect4", "node_modules")),
      path.join(outDir, "node_modules")
    )
  }
  for (const ex of all.filter((e) => edition(e.file))) {
    const rel = path.relative(srcDir, ex.file)
    const n = (counters.get(rel) ?? 0) + 1
    counters.set(rel, n)
    const name = `${rel.replace(/\.ts$/, "").split(path.sep).join("-")}-${n}.ts`
    const hasImports = ex.lines.some((l) => /^\s*import\b/.test(l))
    const head = [`// Generated from src/${rel.split(path.sep).join("/")}:${ex.fenceLine} by scripts/check-examples.ts`]
    if (!hasImports) head.push("// NOTE: example has no imports; the standard prelude was added", ...prelude)
    fs.writeFileSync(path.join(outDir, name), [...head, ...ex.lines.map(rewrite), "", "export {}", ""].join("\n"))
    generated.set(name, [ex, head.length])
  }
  fs.writeFileSync(
    path.join(outDir, "tsconfig.json"),
    JSON.stringify(
      {
        extends: "../../tsconfig.json",
        compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
        include: ["./*.ts"]
      },
      null,
      2
    ) + "\n"
  )
  const tsc = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), [
    "-p",
    path.join(outDir, "tsconfig.json"),
    "--pretty",
    "false"
  ], { cwd: root, encoding: "utf8" })
  if (tsc.error) throw tsc.error
  output += `${tsc.stdout ?? ""}${tsc.stderr ?? ""}`.trim() + "\n"
  status ||= tsc.status ?? 1
}
output = output.trim()

if (status === 0) {
  console.log(`${generated.size} examples compiled`)
  process.exit(0)
}

// Map "scratch/examples/<name>(line,col): error ..." back to the documented source line.
let failures = 0
for (const diag of output.split(/\n(?=\S)/)) {
  const m = /^(.*?)\((\d+),(\d+)\): (.*)$/s.exec(diag)
  const entry = m && generated.get(path.basename(m[1]!))
  if (m && entry && path.basename(path.dirname(path.resolve(root, m[1]!))).startsWith("examples")) {
    const [ex, offset] = entry
    const line = Number(m[2]) - offset
    const srcLine = line >= 1 && line <= ex.lines.length ? ex.fenceLine + line : ex.fenceLine
    console.error(`${path.relative(root, ex.file)}:${srcLine}:${m[3]} (example at line ${ex.fenceLine})\n  ${m[4]}`)
  } else console.error(diag) // not inside an example (e.g. an error in src itself)
  failures++
}
console.error(`\n${failures} error(s) in ${generated.size} examples`)
process.exit(1)
