/**
 * A throwaway self-signed certificate for localhost, 127.0.0.1 and ::1, made with the openssl
 * CLI in a fresh temp dir, for the showcase. Not a secret: it lives for one run.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface Certificate {
  readonly dir: string
  readonly certFile: string
  readonly keyFile: string
}

export const makeSelfSigned = (): Certificate => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-sockets-cert-"))
  const certFile = path.join(dir, "cert.pem")
  const keyFile = path.join(dir, "key.pem")
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
  ], { stdio: "ignore" })
  return { dir, certFile, keyFile }
}
