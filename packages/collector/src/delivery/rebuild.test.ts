import { describe, expect, it } from "vitest";
import type { LoggedWork } from "../db/deliveries";
import { rebuild, requeueMessages } from "./rebuild";

const stored = {
	type: "track",
	event: "Step",
	messageId: "m1",
	userId: "u1",
	timestamp: "2026-11-24T10:00:00.000Z",
	receivedAt: "2026-11-24T10:00:01.000Z",
	context: { profileId: "prof_forged", page: { path: "/" } },
};

function row(overrides: Partial<LoggedWork> = {}): LoggedWork {
	return {
		id: 1,
		destination_id: "hooks",
		source_id: "web",
		message_id: "m1",
		kind: "event",
		status: "pending",
		attempts: 0,
		sweeps: 0,
		last_status: null,
		payload: JSON.stringify(stored),
		event_profile_id: "prof_resolved",
		deletion_id: null,
		profile_id: null,
		identities: null,
		requested_at: null,
		...overrides,
	};
}

describe("rebuild", () => {
	it("sends the resolved profile, not the one in the stored payload", () => {
		expect(rebuild(row())).toEqual({
			kind: "event",
			item: {
				sourceId: "web",
				event: {
					...stored,
					context: { page: { path: "/" }, profileId: "prof_resolved" },
				},
			},
		});
	});

	it("sends no profile for an event identity did not resolve", () => {
		const work = rebuild(row({ event_profile_id: null }));
		expect(work?.kind === "event" && work.item.event.context).toEqual({
			page: { path: "/" },
		});
	});

	it("finds nothing for an event that is gone or was erased", () => {
		expect(rebuild(row({ payload: null }))).toBeUndefined();
		expect(rebuild(row({ payload: "{}" }))).toBeUndefined();
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

describe("requeueMessages", () => {
	it("packs events by the destination's batch size and gives each deletion its own message", () => {
		const events = [1, 2, 3].map((n) =>
			rebuild(
				row({ payload: JSON.stringify({ ...stored, messageId: `m${n}` }) }),
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
