/**
 * Bad arguments and the error each edition must report before any I/O, as plain data: one
 * table, run by a thin runner per edition (test/validation-scenarios.test.ts for Effect 3,
 * test/effect4/validation.test.ts for Effect 4). Every case names the call, its arguments and
 * the expected error's `_tag` and `argument` (or `operation`).
 */
export type ValidationCall = "connectTcp" | "createTcpListener"

export interface ValidationCase {
  readonly name: string
  readonly call: ValidationCall
  /** The arguments, as an untyped caller could pass them. */
  readonly args: ReadonlyArray<unknown>
  readonly expected: { readonly _tag: "InvalidArgumentError"; readonly argument: string }
}

const invalid = (argument: string) => ({ _tag: "InvalidArgumentError", argument }) as const

export const validationCases: ReadonlyArray<ValidationCase> = [
  { name: "an empty host", call: "connectTcp", args: ["", 80], expected: invalid("host") },
  { name: "a host with NUL", call: "connectTcp", args: ["a\0b", 80], expected: invalid("host") },
  { name: "a host that is not a string", call: "connectTcp", args: [42, 80], expected: invalid("host") },
  { name: "port 0", call: "connectTcp", args: ["127.0.0.1", 0], expected: invalid("port") },
  { name: "port 65536", call: "connectTcp", args: ["127.0.0.1", 65536], expected: invalid("port") },
  { name: "a fractional port", call: "connectTcp", args: ["127.0.0.1", 80.5], expected: invalid("port") },
  { name: "a port as a string", call: "connectTcp", args: ["127.0.0.1", "80"], expected: invalid("port") },
  { name: "null options", call: "connectTcp", args: ["127.0.0.1", 80, null], expected: invalid("options") },
  { name: "array options", call: "connectTcp", args: ["127.0.0.1", 80, []], expected: invalid("options") },
  {
    name: "a negative localPort",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { localPort: -1 }],
    expected: invalid("localPort")
  },
  {
    name: "an empty localHost",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { localHost: "" }],
    expected: invalid("localHost")
  },
  {
    name: "a negative happyEyeballsDelay",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { happyEyeballsDelay: -5 }],
    expected: invalid("happyEyeballsDelay")
  },
  {
    name: "an unreadable happyEyeballsDelay",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { happyEyeballsDelay: "soon" }],
    expected: invalid("happyEyeballsDelay")
  },
  {
    name: "noDelay that is not a boolean",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { noDelay: "yes" }],
    expected: invalid("noDelay")
  },
  {
    name: "keepAlive of a fraction of a second",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { keepAlive: 1500 }],
    expected: invalid("keepAlive")
  },
  {
    name: "keepAlive past TCP_KEEPIDLE's limit",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { keepAlive: 32768 * 1000 }],
    expected: invalid("keepAlive")
  },
  {
    name: "a zero receiveBufferSize",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { receiveBufferSize: 0 }],
    expected: invalid("receiveBufferSize")
  },
  {
    name: "a sendBufferSize past 2^30",
    call: "connectTcp",
    args: ["127.0.0.1", 80, { sendBufferSize: 2 ** 30 + 1 }],
    expected: invalid("sendBufferSize")
  },
  { name: "null listener options", call: "createTcpListener", args: [null], expected: invalid("options") },
  {
    name: "a listener port past 65535",
    call: "createTcpListener",
    args: [{ localPort: 70000 }],
    expected: invalid("localPort")
  },
  { name: "a zero backlog", call: "createTcpListener", args: [{ backlog: 0 }], expected: invalid("backlog") },
  {
    name: "a backlog past 65535",
    call: "createTcpListener",
    args: [{ backlog: 65536 }],
    expected: invalid("backlog")
  },
  {
    name: "an empty listener localHost",
    call: "createTcpListener",
    args: [{ localHost: "" }],
    expected: invalid("localHost")
  },
  {
    name: "ipv6Only that is not a boolean",
    call: "createTcpListener",
    args: [{ ipv6Only: 1 }],
    expected: invalid("ipv6Only")
  },
  {
    name: "ipv6Only with family IPv4",
    call: "createTcpListener",
    args: [{ ipv6Only: true, family: "IPv4" }],
    expected: invalid("ipv6Only")
  },
  {
    name: "a listener keepAlive of zero seconds",
    call: "createTcpListener",
    args: [{ keepAlive: 0 }],
    expected: invalid("keepAlive")
  }
]
