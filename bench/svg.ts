/** A small horizontal bar chart of each row's ratio to its baseline (raw Node unless named), as SVG. */
import type { Row } from "./run.js"

const colors: Record<string, string> = { raw: "#888888", "effect-sockets": "#2f6fde", "@effect/platform": "#e0893a" }
const colorOf = (impl: string) =>
  colors[impl] ?? (impl.startsWith("effect 4") ? "#3a9e5a" : impl.startsWith("effect-sockets") ? "#6f9be8" : "#555")

export const renderSvg = (rows: ReadonlyArray<Row>, subtitle: string): string => {
  const barHeight = 16
  const gap = 6
  const left = 460
  const width = 960
  const scale = (width - left - 80) / Math.max(1.5, ...rows.map((r) => r.ratio))
  const top = 50
  const height = top + rows.length * (barHeight + gap) + 40
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;")
  const bars = rows.map((r, i) => {
    const y = top + i * (barHeight + gap)
    const w = Math.max(1, r.ratio * scale)
    return [
      `<text x="${left - 8}" y="${y + 12}" text-anchor="end" font-size="11">${
        escape(`${r.workload} node${r.node.split(".")[0]} ${r.impl}${r.baseline === "raw" ? "" : ` (÷ ${r.baseline})`}`)
      }</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colorOf(r.impl)}"/>`,
      `<text x="${left + w + 6}" y="${y + 12}" font-size="11">${r.ratio.toFixed(2)}×</text>`
    ].join("")
  })
  const oneX = left + scale
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">effect-sockets: throughput as a ratio to raw Node on the same Node line (higher is better)</text>`,
    `<text x="10" y="38" font-size="10">${escape(subtitle)}</text>`,
    ...bars,
    `<line x1="${oneX}" y1="${top - 4}" x2="${oneX}" y2="${height - 30}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${oneX + 4}" y="${height - 18}" font-size="10">1.0× raw</text>`,
    `</svg>`,
    ""
  ].join("\n")
}
