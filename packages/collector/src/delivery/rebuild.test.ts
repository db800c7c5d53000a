import { describe, expect, it } from "vitest";
import type { InFlightBatch } from "../db/delivery-batches";
import type { FailedWork } from "../db/delivery-failures";
import { bodyOf, rebuild, requeueMessages } from "./rebuild";

const routed = {
	type: "track",
	event: "Step",
	messageId: "m1",
	userId: "u1",
	timestamp: "2026-11-24T10:00:00.000Z",
	receivedAt: "2026-11-24T10:00:01.000Z",
	context: { profileId: "prof_resolved", page: { path: "/" } },
};

function row(overrides: Partial<FailedWork> = {}): FailedWork {
	return {
		id: 1,
		destination_id: "hooks",
		source_id: "web",
		message_id: "m1",
		kind: "event",
		status: "dead",
		attempts: 3,
		payload: JSON.stringify(routed),
		deletion_id: null,
		profile_id: null,
		identities: null,
		requested_at: null,
		...overrides,
	};
}

describe("rebuild", () => {
	it("sends the event as fan-out routed it, its resolved profile included", () => {
		expect(rebuild(row())).toEqual({
			kind: "event",
			item: { sourceId: "web", event: routed },
		});
	});

	it("finds nothing for a row that keeps no event", () => {
		expect(rebuild(row({ payload: null }))).toBeUndefined();
		expect(rebuild(row({ payload: "{}" }))).toBeUndefined();
		expect(rebuild(row({ payload: "not json" }))).toBeUndefined();
	});

	it("rebuilds a deletion from its record, and nothing when the record is gone", () => {
		const deletion = row({
			kind: "deletion",
			source_id: "",
			message_id: "deletion:7",
			payload: null,
			deletion_id: 7,
			profile_id: "prof_1",
			identities: '[{"type":"user_id","value":"u1"},{"bad":1}]',
			requested_at: "2026-11-24T10:00:00.000Z",
		});
		expect(rebuild(deletion)).toEqual({
			kind: "deletion",
			deletion: {
				id: 7,
				profileId: "prof_1",
				identities: [{ type: "user_id", value: "u1" }],
				requestedAt: "2026-11-24T10:00:00.000Z",
			},
		});
		expect(rebuild({ ...deletion, deletion_id: null })).toBeUndefined();
	});
});

describe("bodyOf", () => {
	const batch = (body: string | null): InFlightBatch => ({
		id: 1,
		batch_key: "b:key",
		destination_id: "hooks",
		kind: "events",
		status: "pending",
		attempts: 0,
		sweeps: 0,
		last_status: null,
		body,
	});

	it("gives back the message a batch keeps, under the batch's key", () => {
		const body = JSON.stringify({
			kind: "events",
			destinationId: "hooks",
			items: [{ sourceId: "web", event: routed }],
		});
		expect(bodyOf(batch(body))).toEqual({
			kind: "events",
			destinationId: "hooks",
			batch: "b:key",
			items: [{ sourceId: "web", event: routed }],
		});
	});

	it("finds nothing in a cleared or corrupted body", () => {
		expect(bodyOf(batch(null))).toBeUndefined();
		expect(bodyOf(batch("{"))).toBeUndefined();
		expect(bodyOf(batch('{"kind":"events"}'))).toBeUndefined();
	});
});

describe("requeueMessages", () => {
	it("packs events by the destination's batch size and gives each deletion its own message", () => {
		const events = [1, 2, 3].map((n) =>
			rebuild(
				row({ payload: JSON.stringify({ ...routed, messageId: `m${n}` }) }),
			),
		);
		const deletion = {
			kind: "deletion" as const,
			deletion: { id: 7, profileId: "p", identities: [], requestedAt: "" },
		};
		const messages = requeueMessages("hooks", 2, [
			...events.flatMap((e) => (e ? [e] : [])),
			deletion,
		]);
		expect(
			messages.map((m) =>
				m.kind === "events" ? m.items.map((i) => i.event.messageId) : m.kind,
			),
		).toEqual([["m1", "m2"], ["m3"], "deletion"]);
	});
});
