import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { WireEvent } from "@conduit/protocol";

const FIXTURE = join(import.meta.dirname, "../../test/fixtures/events.ndjson");

/**
 * The shared fixture events (624 Segment events from 64 people).
 *
 * @example
 * fixture().length // 624
 */
export function fixture(): WireEvent[] {
	return readFileSync(FIXTURE, "utf8")
		.split("\n")
		.filter((line) => line !== "")
		.map((line) => JSON.parse(line) as WireEvent);
}
