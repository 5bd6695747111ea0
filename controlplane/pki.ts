import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

export interface Pki {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A throwaway CA, a serving certificate for 127.0.0.1/localhost, and the service-account signing key. */
export function createPki(dir: string): Pki {
  const file = (name: string): string => path.join(dir, name);
  const pki: Pki = {
    caCert: file("ca.crt"),
    serverCert: file("apiserver.crt"),
    serverKey: file("apiserver.key"),
    serviceAccountKey: file("sa.key"),
    serviceAccountPub: file("sa.pub"),
  };
  const days = "30";
  openssl(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days, "-subj", "/CN=hde-test-ca"].concat([
      "-keyout",
      file("ca.key"),
      "-out",
      pki.caCert,
    ]),
  );
  openssl(
    ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver"].concat([
      "-keyout",
      pki.serverKey,
      "-out",
      file("apiserver.csr"),
    ]),
  );
  writeFileSync(
    file("apiserver.ext"),
    [
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc",
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
    ].join("\n"),
  );
  openssl(
    ["x509", "-req", "-in", file("apiserver.csr"), "-CA", pki.caCert, "-CAkey", file("ca.key")].concat([
      "-CAcreateserial",
      "-days",
      days,
      "-extfile",
      file("apiserver.ext"),
      "-out",
      pki.serverCert,
    ]),
  );
  openssl(["genrsa", "-out", pki.serviceAccountKey, "2048"]);
  openssl(["rsa", "-in", pki.serviceAccountKey, "-pubout", "-out", pki.serviceAccountPub]);
  return pki;
}
