/**
 * What the process holds, counted without Effect (so that both editions' tests can import it):
 * open file descriptors (Linux: `/proc/self/fd`), active libuv handles, what each points to, and
 * a forced GC.
 */
import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"

/** The number of file descriptors this process has open (Linux: `/proc/self/fd`). */
export const openFds = (): number => fs.readdirSync("/proc/self/fd").length

/** Active libuv resources, leaving out timers (the test runner's own come and go). */
export const activeHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r !== "Timeout" && r !== "Immediate").length

export interface ResourceCount {
  readonly fds: number
  readonly handles: number
}

export const countResources = (): ResourceCount => ({ fds: openFds(), handles: activeHandles() })

/** What each open fd points to, counted by kind ("socket", "anon_inode:[eventpoll]", a path…). */
export const fdKinds = (): Record<string, number> => {
  const kinds: Record<string, number> = {}
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    let target: string
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/:\[\d+\]$/, "")
    } catch {
      continue // the fd used to read the directory itself
    }
    kinds[target] = (kinds[target] ?? 0) + 1
  }
  return kinds
}

/** Active resources by kind (`TCPSocketWrap`, `UDPWrap`, …), timers included. */
export const handleKinds = (): Record<string, number> => {
  const kinds: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) kinds[kind] = (kinds[kind] ?? 0) + 1
  return kinds
}

/** `global.gc`, made available without `--expose-gc` (V8 flag set at run time). */
export const gc: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc
  if (typeof existing === "function") return existing
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

export const MiB = 1024 * 1024
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`
