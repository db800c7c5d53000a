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

	it("reads every ISO form validation admits, including those V8's Date.parse refuses", () => {
		expect(
			correctTimestamps({ timestamp: "2026-11-01T13:00:00+05" }, received),
		).toEqual({
			timestamp: "2026-11-01T08:00:00.000Z",
			originalTimestamp: "2026-11-01T13:00:00+05",
		});
	});

	it("keeps a future timestamp as the client sent it", () => {
		expect(
			correctTimestamps({ timestamp: "9999-12-31T23:59:59Z" }, received)
				.timestamp,
		).toBe("9999-12-31T23:59:59.000Z");
	});

	it("clamps a wild clock skew into 1970–9999 instead of throwing", () => {
		expect(
			correctTimestamps(
				{
					timestamp: "9999-12-31T23:59:59.999Z",
					sentAt: "1970-01-01T00:00:00.000Z",
				},
				received,
			).timestamp,
		).toBe("9999-12-31T23:59:59.999Z");
		expect(
			correctTimestamps(
				{
					timestamp: "1970-01-01T00:00:00.000Z",
					sentAt: "9999-12-31T23:59:59.999Z",
				},
				received,
			).timestamp,
		).toBe("1970-01-01T00:00:00.000Z");
	});
});
