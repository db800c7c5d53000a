import { env } from "cloudflare:workers";
import type { WireEvent } from "@conduit/protocol";
import { describe, expect, it } from "vitest";
import { fixtureEvents } from "../../test/helpers";
import { storedEvents } from "../../test/helpers/stored-events";
import type { QueuedEvent } from "../event";
import { RECORD_CONTENT_TYPE, recordObjects } from "./records";
import {
	type ScanBudget,
	type ScanCursor,
	type ScanRange,
	scanStep,
	startCursor,
} from "./scan";

const fixture = fixtureEvents as WireEvent[];

/** Writes events as the consumer would, in batches of `per` events, under a fresh prefix. */
async function stored(events: QueuedEvent[], per: number): Promise<string> {
	const prefix = `scan-test/${crypto.randomUUID()}/`;
	for (let i = 0; i < events.length; i += per)
		for (const object of await recordObjects(events.slice(i, i + per), prefix))
			await env.RECORDS.put(object.key, object.body, {
				httpMetadata: { contentType: RECORD_CONTENT_TYPE },
			});
	return prefix;
}

/** Runs a scan to its end (at most `maxSteps` steps) and returns what each step gave. */
async function scanAll(
	prefix: string,
	range: ScanRange,
	budget: ScanBudget,
	maxSteps = 200,
) {
	const steps: { ids: string[]; objects: number; cursor: ScanCursor }[] = [];
	let cursor = startCursor();
	for (let i = 0; i < maxSteps; i++) {
		const step = await scanStep(env.RECORDS, range, cursor, budget, prefix);
		steps.push({
			ids: step.events.map((e) => `${e.sourceId}/${e.event.messageId}`),
			objects: step.objects,
			cursor: step.cursor,
		});
		if (step.done) return steps;
		cursor = step.cursor;
	}
	throw new Error(`scan did not end in ${maxSteps} steps`);
}

const web = storedEvents(fixture, 300, {
	start: "2026-11-01T06:00:00.000Z",
	hours: 6,
});
const app = storedEvents(fixture.slice(0, 60), 60, {
	sourceId: "app",
	start: "2026-11-01T07:30:00.000Z",
	hours: 3,
});
const range: ScanRange = {
	from: new Date("2026-11-01T07:20:00.000Z"),
	to: new Date("2026-11-01T10:40:00.000Z"),
	sources: ["web", "app"],
};
const inRange = (events: QueuedEvent[]) =>
	events
		.filter(
			(e) =>
				e.event.receivedAt >= range.from.toISOString() &&
				e.event.receivedAt < range.to.toISOString(),
		)
		.map((e) => `${e.sourceId}/${e.event.messageId}`);

describe("scanStep", () => {
	it("yields every event of the range and the sources once, in bounded steps that resume from the cursor", async () => {
		const prefix = await stored([...web, ...app], 20);
		const budget = { objects: 3, events: 10_000, lists: 10 };
		const steps = await scanAll(prefix, range, budget);
		const ids = steps.flatMap((s) => s.ids);
		const expected = [...inRange(web), ...inRange(app)];
		expect(expected.length).toBeGreaterThan(100);
		expect([...ids].sort()).toEqual(expected.sort());
		expect(new Set(ids).size).toBe(ids.length);
		expect(Math.max(...steps.map((s) => s.objects))).toBeLessThanOrEqual(3);
		// Sources in the given order: every web event before the first app event.
		const firstApp = ids.findIndex((id) => id.startsWith("app/"));
		expect(ids.slice(firstApp).every((id) => id.startsWith("app/"))).toBe(true);
		// Objects of hours wholly outside the range are never read: web's 06:00 and 11:00 hours.
		const objectsRead = steps.reduce((n, s) => n + s.objects, 0);
		const listed = await env.RECORDS.list({ prefix });
		const inHours = listed.objects.filter((o) =>
			/hour=(07|08|09|10)\//.test(o.key),
		).length;
		expect(objectsRead).toBe(inHours);
		expect(listed.objects.length).toBeGreaterThan(inHours);
	});

	it("gives the same events whatever the step size, and leaves out sources not asked for", async () => {
		const prefix = await stored([...web, ...app], 45);
		const small = await scanAll(prefix, range, {
			objects: 1,
			events: 10_000,
			lists: 2,
		});
		const large = await scanAll(prefix, range, {
			objects: 1000,
			events: 10_000,
			lists: 10,
		});
		expect(small.flatMap((s) => s.ids)).toEqual(large.flatMap((s) => s.ids));
		const webOnly = await scanAll(
			prefix,
			{ ...range, sources: ["web"] },
			{ objects: 5, events: 10_000, lists: 10 },
		);
		expect(webOnly.flatMap((s) => s.ids).sort()).toEqual(inRange(web).sort());
	});

	it("stops a step once its event budget is decoded, without splitting an object", async () => {
		const prefix = await stored(web, 50);
		const steps = await scanAll(
			prefix,
			{ ...range, sources: ["web"] },
			{ objects: 100, events: 1, lists: 10 },
		);
		expect(steps.filter((s) => s.objects > 1)).toEqual([]);
		expect(steps.flatMap((s) => s.ids).sort()).toEqual(inRange(web).sort());
	});

	it("ends at once on a range or source with nothing stored", async () => {
		const prefix = await stored(web, 50);
		const step = await scanStep(
			env.RECORDS,
			{ ...range, sources: ["nobody"] },
			startCursor(),
			undefined,
			prefix,
		);
		expect(step).toMatchObject({ events: [], objects: 0, done: true });
		const later = await scanStep(
			env.RECORDS,
			{
				from: new Date("2026-11-02T00:00:00.000Z"),
				to: new Date("2026-11-03T00:00:00.000Z"),
				sources: ["web"],
			},
			startCursor(),
			undefined,
			prefix,
		);
		expect(later).toMatchObject({ events: [], objects: 0, done: true });
	});
});
