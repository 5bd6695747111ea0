/**
 * The scan's collectors, in the order they run: each concern is one collector here and one
 * analysis module. Later collectors read what earlier ones found (findings.ts).
 */
import type { Collector } from "../collector.ts";
import { driftCollector } from "./drift.ts";
import { hooksCollector } from "./hooks.ts";
import { releasesCollector } from "./releases.ts";
import { rollbackCollector } from "./rollback.ts";

export const COLLECTORS: readonly Collector[] = [
  releasesCollector,
  driftCollector,
  hooksCollector,
  rollbackCollector,
];
