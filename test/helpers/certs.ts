/**
 * Throwaway test certificates, made at test time with the `openssl` CLI in a fresh temp dir: a
 * CA, certificates it signs (server, client, IDNA name) and an untrusted self-signed one. They
 * live for one test file (`useTestCerts` generates them in `beforeAll` and removes the directory
 * in `afterAll`); no key is ever committed. EC P-256 keys keep generation fast.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"

/** A certificate and its private key: PEM text, and the files they were written to. */
export interface KeyPair {
  readonly cert: string
  readonly key: string
  readonly certFile: string
  readonly keyFile: string
}

export interface TestCerts {
  readonly dir: string
  /** The test CA (its certificate doubles as the trust anchor, `ca`). */
  readonly ca: KeyPair
  /** Signed by the CA for DNS:localhost, IP:127.0.0.1 and IP:::1. */
  readonly server: KeyPair
  /** Self-signed for the same names: nobody trusts it. */
  readonly untrusted: KeyPair
  /** A client certificate (CN "effect-sockets test client") signed by the CA. */
  readonly client: KeyPair
  /** Signed by the CA for DNS:xn--fa-hia.de (the IDNA 2008 form of "faß.de"). */
  readonly idna: KeyPair
}

const openssl = (dir: string, args: ReadonlyArray<string>): void => {
  execFileSync("openssl", [...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] })
}

const read = (dir: string, name: string): KeyPair => {
  const certFile = path.join(dir, `${name}.pem`)
  const keyFile = path.join(dir, `${name}.key`)
  return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8"), certFile, keyFile }
}

const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

/** A certificate signed by the CA in `dir`, with the given subject and X.509v3 extensions. */
const signed = (dir: string, name: string, subject: string, extensions: ReadonlyArray<string>): void => {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions.join("\n") + "\n")
  openssl(dir, ["req", "-new", ...newKey, "-subj", subject, "-keyout", `${name}.key`, "-out", `${name}.csr`])
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    String(Date.now()),
    "-days",
    "2",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`
  ])
}

const leaf = (san: string, usage: "serverAuth" | "clientAuth"): ReadonlyArray<string> => [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  `extendedKeyUsage=${usage}`,
  "subjectKeyIdentifier=hash",
  "authorityKeyIdentifier=keyid",
  ...(san ? [`subjectAltName=${san}`] : [])
]

const LOCALHOST_SAN = "DNS:localhost,IP:127.0.0.1,IP:::1"

/** Generates every test certificate in a new temp dir (remove it with `removeTestCerts`). */
export const makeTestCerts = (): TestCerts => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-sockets-test-certs-"))
  try {
    openssl(dir, [
      "req",
      "-x509",
      ...newKey,
      "-days",
      "2",
      "-sha256",
      "-subj",
      "/CN=effect-sockets test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign"
    ])
    signed(dir, "server", "/CN=localhost", leaf(LOCALHOST_SAN, "serverAuth"))
    signed(dir, "client", "/CN=effect-sockets test client", leaf("", "clientAuth"))
    signed(dir, "idna", "/CN=xn--fa-hia.de", leaf("DNS:xn--fa-hia.de", "serverAuth"))
    openssl(dir, [
      "req",
      "-x509",
      ...newKey,
      "-days",
      "2",
      "-sha256",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "untrusted.key",
      "-out",
      "untrusted.pem",
      "-addext",
      `subjectAltName=${LOCALHOST_SAN}`
    ])
    return {
      dir,
      ca: read(dir, "ca"),
      server: read(dir, "server"),
      untrusted: read(dir, "untrusted"),
      client: read(dir, "client"),
      idna: read(dir, "idna")
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

export const removeTestCerts = (certs: TestCerts): void => fs.rmSync(certs.dir, { recursive: true, force: true })

/**
 * Registers `beforeAll`/`afterAll` hooks that make the certificates once for the calling test
 * file and remove them afterwards. Returns an accessor, valid inside tests.
 */
export const useTestCerts = (): () => TestCerts => {
  let certs: TestCerts | undefined
  beforeAll(() => {
    certs = makeTestCerts()
  })
  afterAll(() => {
    if (certs) removeTestCerts(certs)
    certs = undefined
  })
  return () => {
    if (certs === undefined) throw new Error("test certificates are only available inside tests")
    return certs
  }
}
