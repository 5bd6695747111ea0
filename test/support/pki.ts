/** Throwaway CAs and certificates made with openssl, for tests of the TLS server. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestCa extends Issued {
  /** A certificate signed by this CA (EC P-256 key). */
  issue(
    name: string,
    options: { readonly sans: readonly string[]; readonly usage: "serverAuth" | "clientAuth" },
  ): Issued;
}

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function tempDir(prefix = "hde-tls-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

function loaded(certFile: string, keyFile: string): Issued {
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

export function createCa(dir: string, name: string): TestCa {
  const file = (suffix: string) => path.join(dir, `${name}${suffix}`);
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"].concat([
      "-subj",
      `/CN=${name}`,
      "-keyout",
      file(".key"),
      "-out",
      file(".crt"),
    ]),
  );
  return {
    ...loaded(file(".crt"), file(".key")),
    issue: (leaf, { sans, usage }) => {
      const leafFile = (suffix: string) => path.join(dir, `${leaf}${suffix}`);
      openssl(
        [
          "req",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-subj",
          `/CN=${leaf}`,
        ].concat(["-keyout", leafFile(".key"), "-out", leafFile(".csr")]),
      );
      writeFileSync(
        leafFile(".ext"),
        [
          ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
          "basicConstraints=CA:FALSE",
          `extendedKeyUsage=${usage}`,
        ].join("\n"),
      );
      openssl(
        ["x509", "-req", "-in", leafFile(".csr"), "-CA", file(".crt"), "-CAkey", file(".key")].concat([
          "-CAcreateserial",
          "-days",
          "2",
          "-extfile",
          leafFile(".ext"),
          "-out",
          leafFile(".crt"),
        ]),
      );
      return loaded(leafFile(".crt"), leafFile(".key"));
    },
  };
}
