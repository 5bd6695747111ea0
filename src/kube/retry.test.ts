import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_RETRY_POLICY as policy, retryDelayMs } from "./retry.ts";

const low = () => 0;
const high = () => 1;

describe("retry delays", () => {
  it("retries 429 and every 5xx, nothing else", () => {
    for (const status of [429, 500, 502, 503, 504, 599])
      assert.notEqual(retryDelayMs(policy, 1, { status }), undefined, String(status));
    for (const status of [200, 400, 401, 403, 404, 409, 410, 422])
      assert.equal(retryDelayMs(policy, 1, { status }), undefined, String(status));
  });

  it("waits at least Retry-After (whole seconds), and never retries a wait past the cap", () => {
    assert.equal(retryDelayMs(policy, 1, { status: 429, retryAfter: "3" }, low), 3000);
    assert.equal(retryDelayMs(policy, 1, { status: 503, retryAfter: "32" }, low), 32_000);
    assert.equal(retryDelayMs(policy, 1, { status: 429, retryAfter: "33" }), undefined);
    // An HTTP-date is not seconds: client-go ignores it, and so does this; the backoff applies.
    const dated = retryDelayMs(policy, 1, { status: 429, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT" }, high);
    assert.equal(dated, policy.baseDelayMs);
  });

  it("backs off exponentially with jitter of 50-100%, up to the maximum", () => {
    const delays = (random: () => number) =>
      Array.from({ length: policy.maxRetries }, (_, index) =>
        retryDelayMs(policy, index + 1, { status: 503 }, random),
      );
    assert.deepEqual(delays(high), [200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000]);
    assert.deepEqual(delays(low), [100, 200, 400, 800, 1600, 2500, 2500, 2500, 2500, 2500]);
  });

  it("stops after the policy's retries (client-go's 10)", () => {
    assert.notEqual(retryDelayMs(policy, 10, { status: 503 }), undefined);
    assert.equal(retryDelayMs(policy, 11, { status: 503 }), undefined);
  });

  it("retries a dropped or refused connection, never a timeout or a TLS failure", () => {
    const error = (code: string) => ({ error: Object.assign(new Error(code), { code }) });
    for (const code of ["ECONNRESET", "ECONNREFUSED", "EPIPE", "EAI_AGAIN"])
      assert.notEqual(retryDelayMs(policy, 1, error(code)), undefined, code);
    for (const code of ["ETIMEDOUT", "ENOTFOUND", "DEPTH_ZERO_SELF_SIGNED_CERT", "ABORT_ERR"])
      assert.equal(retryDelayMs(policy, 1, error(code)), undefined, code);
    assert.equal(retryDelayMs(policy, 1, { error: new Error("no code") }), undefined);
  });
});
