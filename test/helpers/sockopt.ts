/**
 * Reads socket options from our own sockets through an independent reader: a python3 child
 * duplicates our fd with pidfd_open (434) + pidfd_getfd (438) and calls getsockopt on the very
 * same socket (Node cannot read options back). Needs ptrace-attach rights over this process
 * (same user and no Yama restriction, or root); elsewhere the child exits with the errno.
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { promisify } from "node:util"

const script = [
  "import ctypes, socket, sys",
  "libc = ctypes.CDLL(None, use_errno=True)",
  "pidfd = libc.syscall(434, int(sys.argv[1]), 0)",
  "fd = libc.syscall(438, pidfd, int(sys.argv[2]), 0) if pidfd >= 0 else -1",
  "if fd < 0: sys.exit('pidfd_open/pidfd_getfd failed: errno %d' % ctypes.get_errno())",
  "s = socket.socket(fileno=fd)",
  "for spec in sys.argv[3:]:",
  "    level, name = spec.split(':')",
  "    print(s.getsockopt(getattr(socket, level), getattr(socket, name)))",
  "s.detach()"
].join("\n")

/** Option values (as integers) of our fd `fd`, each given as "LEVEL:NAME" of python's socket module. */
export const readSockopts = (fd: number, ...options: ReadonlyArray<string>): Effect.Effect<Array<number>> =>
  Effect.map(
    Effect.promise(() => promisify(execFile)("python3", ["-c", script, String(process.pid), String(fd), ...options])),
    ({ stdout }) => stdout.trim().split("\n").map(Number)
  )

const hexPort = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, "0")}`

/**
 * Our fd of the socket with local port `localPort` (and remote port `remotePort`, 0 for a
 * listening or unconnected one) in the kernel tables `tables` ("tcp", "tcp6", "udp", "udp6").
 */
export const socketFd = (
  tables: ReadonlyArray<"tcp" | "tcp6" | "udp" | "udp6">,
  localPort: number,
  remotePort = 0
): number => {
  const inodes = new Set<string>()
  for (const table of tables) {
    for (const line of fs.readFileSync(`/proc/net/${table}`, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[1]?.endsWith(hexPort(localPort)) && f[2]?.endsWith(hexPort(remotePort))) inodes.add(f[9]!)
    }
  }
  const fds = fs.readdirSync("/proc/self/fd").filter((fd) => {
    let target = ""
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      // an fd closed while we list them
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    return inode !== undefined && inodes.has(inode)
  })
  if (fds.length !== 1) throw new Error(`expected one fd for port ${localPort}, found ${fds.length}`)
  return Number(fds[0])
}
