/**
 * Type-checks every `@example` in the TSDoc of src/: each ```ts block becomes its own module under
 * scratch/examples/ and is compiled with tsc, so documentation cannot drift from the API.
 * Examples must be self-contained (they import what they use); only an example with no import
 * lines at all gets a standard prelude, and its generated file says so.
 *
 * Run: npx tsx scripts/check-examples.ts
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const srcDir = path.join(root, "src")
const outDir = path.join(root, "scratch", "examples")

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

// "effect-sockets" -> ../../src/index.js, "effect-sockets/X" -> ../../src/X/index.js or ../../src/X.js; the
// Effect 4 edition's examples are generated one level deeper (scratch/examples/effect4/), `up` says how far.
const mapSpecifier = (sub: string | undefined, up = "../.."): string => {
  if (!sub) return `${up}/src/index.js`
  const indexFile = path.join(srcDir, sub, "index.ts")
  return fs.existsSync(indexFile) ? `${up}/src/${sub}/index.js` : `${up}/src/${sub}.js`
}
const rewrite = (line: string, up?: string) =>
  line.replace(
    /(["'])effect-sockets(?:\/([^"']+))?\1/g,
    (_m, q: string, sub?: string) => `${q}${mapSpecifier(sub, up)}${q}`
  )

const prelude = (entry: string) => [
  `import { Effect, Layer, Stream, Console } from "effect"`,
  `import { ByteStream, Datagram, Listener, NetError, Socket } from "${entry}"`
]

fs.rmSync(outDir, { recursive: true, force: true })
fs.mkdirSync(outDir, { recursive: true })
// Examples of src/effect4 import `effect` 4: they compile in a folder that resolves it there (scripts/effect4.mjs).
const effect4Dir = path.join(outDir, "effect4")
fs.mkdirSync(effect4Dir)
fs.symlinkSync(
  path.relative(effect4Dir, path.join(root, "test", "effect4", "node_modules")),
  path.join(effect4Dir, "node_modules")
)

// generated file name -> [example, number of generated lines before the example body]
const generated = new Map<string, [Example, number]>()
const counters = new Map<string, number>()
for (const ex of walk(srcDir).flatMap(extract)) {
  const rel = path.relative(srcDir, ex.file)
  const n = (counters.get(rel) ?? 0) + 1
  counters.set(rel, n)
  const name = `${rel.replace(/\.ts$/, "").split(path.sep).join("-")}-${n}.ts`
  const hasImports = ex.lines.some((l) => /^\s*import\b/.test(l))
  const head = [`// Generated from src/${rel.split(path.sep).join("/")}:${ex.fenceLine} by scripts/check-examples.ts`]
  const effect4 = rel.startsWith(`effect4${path.sep}`)
  if (!hasImports) {
    head.push(
      "// NOTE: example has no imports; the standard prelude was added",
      ...prelude(effect4 ? mapSpecifier("effect4", "../../..") : mapSpecifier(undefined))
    )
  }
  const lines = ex.lines.map((line) => rewrite(line, effect4 ? "../../.." : undefined))
  const file = effect4 ? path.join("effect4", name) : name
  fs.writeFileSync(path.join(outDir, file), [...head, ...lines, "", "export {}", ""].join("\n"))
  generated.set(file, [ex, head.length])
}

fs.writeFileSync(
  path.join(outDir, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../../tsconfig.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
      include: ["./*.ts", "./effect4/*.ts"]
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
const output = `${tsc.stdout ?? ""}${tsc.stderr ?? ""}`.trim()

if (tsc.status === 0) {
  console.log(`${generated.size} examples compiled`)
  process.exit(0)
}

// Map "scratch/examples/<name>(line,col): error ..." back to the documented source line.
let failures = 0
for (const diag of output.split(/\n(?=\S)/)) {
  const m = /^(.*?)\((\d+),(\d+)\): (.*)$/s.exec(diag)
  const generatedFile = m ? path.relative(outDir, path.resolve(root, m[1]!)) : ""
  const entry = m && generated.get(generatedFile)
  if (m && entry) {
    const [ex, offset] = entry
    const line = Number(m[2]) - offset
    const srcLine = line >= 1 && line <= ex.lines.length ? ex.fenceLine + line : ex.fenceLine
    console.error(`${path.relative(root, ex.file)}:${srcLine}:${m[3]} (example at line ${ex.fenceLine})\n  ${m[4]}`)
  } else console.error(diag) // not inside an example (e.g. an error in src itself)
  failures++
}
console.error(`\n${failures} error(s) in ${generated.size} examples`)
process.exit(1)
