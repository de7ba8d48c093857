/**
 * The one rule of this house, checked on every import in src/ (run by `npm run lint`):
 *
 * - drivers (`src/internal/driver/`) import nothing from `effect`, and only types from outside
 *   their folder: they are what both Effect editions share;
 * - every other file imports no value from Node's I/O modules (`node:net`, `node:dgram`,
 *   `node:tls`, `node:dns`, `node:fs`, `node:stream`) and no value from the raw addon
 *   (`internal/native.ts`, its Effect-side loader, excepted): mechanics live in drivers;
 * - public modules do not import the addon's loader either (the transport choice is internal);
 * - internal files import public modules for types only, `NetError` (the ground floor) excepted;
 * - the Effect 4 edition (`src/effect4/`, same layout, resolving `effect` to 4.x) imports from the
 *   rest of src/ only drivers and Effect-free shared modules of `src/internal/` (nothing that
 *   imports `effect`, directly or through its value imports), and no Effect 3 file imports it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..")
const src = path.join(root, "src")
const nodeIo = new Set(["node:net", "node:dgram", "node:tls", "node:dns", "node:fs", "node:stream"])

const files = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.name === "node_modules") return [] // src/effect4/node_modules links to effect 4 (scripts/effect4.mjs)
    return entry.isDirectory() ? files(full) : entry.name.endsWith(".ts") ? [full] : []
  })

interface Import {
  readonly specifier: string
  readonly typeOnly: boolean
  readonly line: number
}

/** Every import and re-export of a file, and whether it brings values or only types. */
const importsOf = (file: string): Array<Import> => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const out: Array<Import> = []
  for (const statement of source.statements) {
    const line = source.getLineAndCharacterOfPosition(statement.getStart()).line + 1
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause
      const named = clause?.namedBindings
      const typeOnly = clause !== undefined && (clause.isTypeOnly ||
        (clause.name === undefined && named !== undefined && ts.isNamedImports(named) &&
          named.elements.length > 0 && named.elements.every((element) => element.isTypeOnly)))
      out.push({ specifier: statement.moduleSpecifier.text, typeOnly, line })
    } else if (
      ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      const clause = statement.exportClause
      const typeOnly = statement.isTypeOnly ||
        (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((element) => element.isTypeOnly))
      out.push({ specifier: statement.moduleSpecifier.text, typeOnly, line })
    }
  }
  return out
}

const problems: Array<string> = []
const effect4 = path.join(src, "effect4")
const isEffect = (specifier: string) => specifier === "effect" || specifier.startsWith("effect/")
const resolveSource = (from: string, specifier: string): string | undefined => {
  const target = path.resolve(path.dirname(from), specifier).replace(/\.js$/, ".ts")
  if (fs.existsSync(target)) return target
  const index = target.replace(/\.ts$/, "/index.ts")
  return fs.existsSync(index) ? index : undefined
}

// Whether a file outside src/effect4 is Effect-free: neither it nor anything it imports values
// from imports `effect` (types may cross: drivers name a few public types).
const effectFree = new Map<string, boolean>()
const isEffectFree = (file: string): boolean => {
  const known = effectFree.get(file)
  if (known !== undefined) return known
  effectFree.set(file, true) // a cycle does not make a file Effect-bound by itself
  const free = importsOf(file).every(({ specifier, typeOnly }) => {
    if (typeOnly) return true
    if (isEffect(specifier)) return false
    if (!specifier.startsWith(".")) return true
    const target = resolveSource(file, specifier)
    return target === undefined || isEffectFree(target)
  })
  effectFree.set(file, free)
  return free
}

for (const file of files(src)) {
  const inEffect4 = file.startsWith(effect4 + path.sep)
  // Each edition has the same layout: src/ for Effect 3, src/effect4/ for Effect 4; drivers are shared.
  const editionRoot = inEffect4 ? effect4 : src
  const relative = path.relative(editionRoot, file)
  const isDriver = !inEffect4 && relative.startsWith(`internal${path.sep}driver${path.sep}`)
  const isInternal = relative.startsWith(`internal${path.sep}`)
  for (const { line, specifier, typeOnly } of importsOf(file)) {
    const where = `src/${path.relative(src, file)}:${line}`
    const resolved = specifier.startsWith(".") ? path.resolve(path.dirname(file), specifier) : ""
    const targetInEffect4 = resolved.startsWith(effect4 + path.sep)
    const target = resolved === "" ? "" : path.relative(inEffect4 && targetInEffect4 ? effect4 : src, resolved)
    const targetIsInternal = target.startsWith(`internal${path.sep}`)
    const targetIsDriver = !targetInEffect4 && target.startsWith(`internal${path.sep}driver${path.sep}`)
    if (isDriver) {
      if (isEffect(specifier)) {
        problems.push(`${where}: a driver imports ${specifier} (drivers are Effect-free)`)
      }
      if (target !== "" && !targetIsDriver && !typeOnly) {
        problems.push(`${where}: a driver imports values from ${specifier} (only types may cross into drivers)`)
      }
      continue
    }
    if (
      !targetInEffect4 && target === path.join("internal", "driver", "addon.js") && !typeOnly &&
      relative !== "internal/native.ts"
    ) {
      problems.push(`${where}: calls the raw addon (addon mechanics belong in src/internal/driver/)`)
    }
    if (!inEffect4 && targetInEffect4) {
      problems.push(`${where}: Effect 3 code imports the Effect 4 edition (${specifier})`)
    }
    if (inEffect4 && resolved !== "" && !targetInEffect4) {
      // The Effect 4 edition shares drivers and Effect-free policy, never Effect 3 code, not even its types.
      const source = resolveSource(file, specifier)
      if (!targetIsInternal) {
        problems.push(`${where}: the Effect 4 edition imports the Effect 3 public module ${specifier}`)
      } else if (source !== undefined && !targetIsDriver && !isEffectFree(source)) {
        problems.push(`${where}: the Effect 4 edition imports ${specifier}, which is Effect 3 code (it imports effect)`)
      }
      continue
    }
    if (nodeIo.has(specifier) && !typeOnly) {
      problems.push(`${where}: imports a value from ${specifier} (Node I/O belongs in src/internal/driver/)`)
    }
    if (!isInternal && target === path.join("internal", "native.js")) {
      problems.push(`${where}: a public module loads the addon (choosing the transport is internal)`)
    }
    if (isInternal && target !== "" && !targetIsInternal && !typeOnly && target !== "NetError.js") {
      problems.push(`${where}: internal code imports values from the public module ${specifier} (types only)`)
    }
  }
}

// The root entry (and every public module but Platform) must load without the optional peer
// `@effect/platform`: nothing reachable from src/index.ts, types included, may import it.
const optionalPeers = (specifier: string) =>
  specifier === "@effect/platform" || specifier.startsWith("@effect/platform/")
const reached = new Set<string>()
const visit = (file: string, via: ReadonlyArray<string>) => {
  if (reached.has(file)) return
  reached.add(file)
  for (const { line, specifier } of importsOf(file)) {
    const where = `src/${path.relative(src, file)}:${line}`
    if (optionalPeers(specifier)) {
      problems.push(
        `${where}: imports the optional peer ${specifier}, reachable from src/index.ts (${via.join(" -> ")})`
      )
    } else if (specifier.startsWith(".")) {
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, ".ts")
      if (fs.existsSync(target)) visit(target, [...via, path.relative(src, target)])
      else if (fs.existsSync(target.replace(/\.ts$/, "/index.ts"))) {
        visit(target.replace(/\.ts$/, "/index.ts"), [...via, path.relative(src, target)])
      }
    }
  }
}
visit(path.join(src, "index.ts"), ["index.ts"])
if (reached.has(path.join(src, "Platform.ts"))) problems.push("src/index.ts reaches src/Platform.ts (subpath only)")

if (problems.length > 0) {
  console.error(`The one rule (../shared/STYLE.md, README "Architecture") is broken:\n${problems.join("\n")}`)
  process.exit(1)
}
console.log(
  `layers: ${
    files(src).length
  } files follow the one rule; ${reached.size} reachable from the root, none loads @effect/platform`
)
