/**
 * The thread that checks basic-auth passwords (./bcrypt-thread.ts). bcrypt is slow by design
 * (tens to hundreds of milliseconds a check); here it cannot delay a scrape or a probe.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import bcrypt from "bcryptjs";
import { BCRYPT_NICENESS, type CompareReply, type CompareRequest } from "./bcrypt-thread.ts";

/** A flood of bad passwords is this thread's work; the serving thread goes first. Linux only. */
function giveWayToServing(): void {
  try {
    setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), BCRYPT_NICENESS);
  } catch {
    // Elsewhere the thread keeps the process's priority; it still runs off the serving thread.
  }
}
giveWayToServing();

const port = parentPort;
port?.on("message", ({ id, password, hash }: CompareRequest) => {
  let match = false;
  try {
    match = bcrypt.compareSync(password, hash);
  } catch {
    // A hash bcryptjs cannot read matches nothing, as x/crypto/bcrypt's error does.
  }
  port.postMessage({ id, match } satisfies CompareReply);
});
