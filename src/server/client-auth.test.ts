import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goIpText, subjectAltNames } from "./client-auth.ts";

describe("client certificate SANs, as Go's x509 spells them", () => {
  it("reads DNS, email, IP and URI names from Node's text, quoted values included", () => {
    assert.deepEqual(
      subjectAltNames(
        'DNS:one, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.1, email:a@b.c, URI:spiffe://x/ns/a, DNS:"a, b", othername:<unsupported>, DNS:"q\\"uote"',
      ),
      ["one", "::1", "10.0.0.1", "a@b.c", "spiffe://x/ns/a", "a, b", 'q"uote'],
    );
    assert.deepEqual(subjectAltNames(undefined), []);
  });

  it("writes IPv6 addresses as Go's net.IP String() does", () => {
    const cases: [string, string][] = [
      ["0:0:0:0:0:0:0:1", "::1"],
      ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
      ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:DB8:1:1:1:1:1:1", "2001:db8:1:1:1:1:1:1"],
      ["2001:DB8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["0:0:0:0:0:FFFF:A00:1", "10.0.0.1"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["10.1.2.3", "10.1.2.3"],
    ];
    for (const [node, go] of cases) assert.equal(goIpText(node), go, node);
  });
});
