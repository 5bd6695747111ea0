import { testSnapshot } from "../../test/support/snapshot.ts";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyzeStatus } from "../analysis/status.ts";
import { decodeReleaseNow } from "../helm/decode.ts";
import { encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import { renderTable } from "./table.ts";

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/;

describe("scan table", () => {
  it("prints what a release record says escaped, never as terminal control or extra lines", () => {
    const record = releaseRecord({ status: "failed" });
    (record.info as Record<string, unknown>).description =
      "oops\u001b[2J\u001b[31m\nweb  1  deployed  fake row\u202e";
    (record.chart as { metadata: Record<string, unknown> }).metadata.name = "web\rX\u0007";
    const report = analyzeStatus({
      namespace: "apps",
      release: "web",
      storage: "secret",
      revisions: [{ revision: 1, status: "failed" }],
      latest: decodeReleaseNow(encodeRelease(record)),
    });
    const text = renderTable(testSnapshot({ releases: [report] }));
    assert.doesNotMatch(text, CONTROL_BUT_NEWLINE, "no control character but newlines");
    assert.ok(!text.split("\n").some((line) => line.startsWith("web  1")), "no injected line");
    assert.match(text, /oops\\x1b\[2J\\x1b\[31m\\nweb {2}1 {2}deployed {2}fake row\\u202e/);
    assert.match(text, /web\\rX\\x07-/);
  });
});
