import { describe, expect, it } from "vitest";
import { correctTimestamps } from "./timestamps";

const received = Date.parse("2026-11-01T09:00:05.000Z");

describe("correctTimestamps", () => {
	it("removes the client's clock error: receivedAt − (sentAt − timestamp)", () => {
		expect(
			correctTimestamps(
				{
					timestamp: "2026-11-01T10:00:00.000Z",
					sentAt: "2026-11-01T10:00:05.000Z",
				},
				received,
			),
		).toEqual({
			timestamp: "2026-11-01T09:00:00.000Z",
			originalTimestamp: "2026-11-01T10:00:00.000Z",
		});
	});

	it("prefers an explicit originalTimestamp and understands offsets", () => {
		const result = correctTimestamps(
			{
				originalTimestamp: "2026-11-01T11:00:00+02:00",
				timestamp: "x",
				sentAt: "2026-11-01T09:00:01.000Z",
			},
			received,
		);
		expect(result).toEqual({
			timestamp: "2026-11-01T09:00:04.000Z",
			originalTimestamp: "2026-11-01T11:00:00+02:00",
		});
	});

	it("keeps the client's time without sentAt, and uses receivedAt without any", () => {
		expect(
			correctTimestamps({ timestamp: "2026-11-01T08:00:00Z" }, received),
		).toEqual({
			timestamp: "2026-11-01T08:00:00.000Z",
			originalTimestamp: "2026-11-01T08:00:00Z",
		});
		expect(correctTimestamps({}, received)).toEqual({
			timestamp: "2026-11-01T09:00:05.000Z",
		});
	});
});
