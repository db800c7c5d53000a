import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../../event";
import { nameProblem, snakeCase, toGa4Event } from "./events";

const now = Date.parse("2026-11-01T10:00:00.000Z");
const at = "2026-11-01T09:00:00.000Z";
const track = (
	event: string,
	properties: Record<string, unknown>,
): EnrichedEvent => ({
	type: "track",
	event,
	properties,
	messageId: "m",
	anonymousId: "a",
	timestamp: at,
	receivedAt: at,
	context: {},
});

describe("toGa4Event", () => {
	it("looks names up as own keys: an event or property called toString or constructor is itself", () => {
		expect(toGa4Event(track("toString", { valueOf: 1 }), now)).toEqual({
			name: "to_string",
			params: { valueOf: 1 },
		});
		expect(
			toGa4Event(
				track("Order Completed", { constructor: "x", toString: 2, revenue: 5 }),
				now,
			),
		).toEqual({
			name: "purchase",
			params: { constructor: "x", toString: 2, value: 5 },
		});
	});

	it("maps Order Completed to purchase with items", () => {
		const products = [
			{
				product_id: "p1",
				sku: "S1",
				name: "One",
				category: "Books",
				price: 5,
				quantity: 2,
			},
			{ sku: "S2", name: "Two", price: 3 },
		];
		expect(
			toGa4Event(
				track("Order Completed", {
					order_id: "o1",
					revenue: 13,
					total: 14,
					currency: "EUR",
					coupon: "C",
					products,
				}),
				now,
			),
		).toEqual({
			name: "purchase",
			params: {
				transaction_id: "o1",
				value: 13,
				currency: "EUR",
				coupon: "C",
				items: [
					{
						item_id: "p1",
						item_name: "One",
						item_category: "Books",
						price: 5,
						quantity: 2,
					},
					{ item_id: "S2", item_name: "Two", price: 3 },
				],
			},
		});
	});

	it("maps single-product events to one item and a value", () => {
		expect(
			toGa4Event(
				track("Product Added", {
					product_id: "p7",
					name: "Seven",
					price: 4,
					quantity: 3,
					cart_id: "c1",
					currency: "USD",
				}),
				now,
			),
		).toEqual({
			name: "add_to_cart",
			params: {
				cart_id: "c1",
				currency: "USD",
				value: 12,
				items: [{ item_id: "p7", item_name: "Seven", price: 4, quantity: 3 }],
			},
		});
		expect(
			toGa4Event(track("Product Viewed", { product_id: "p1", price: 2 }), now),
		).toMatchObject({ name: "view_item" });
		expect(
			toGa4Event(track("Checkout Started", { value: 9, products: [] }), now),
		).toMatchObject({
			name: "begin_checkout",
			params: { value: 9, items: [] },
		});
	});

	it("maps page to page_view and custom events to snake_case", () => {
		const page: EnrichedEvent = {
			type: "page",
			name: "Home",
			messageId: "m",
			anonymousId: "a",
			timestamp: at,
			receivedAt: at,
			context: { page: { url: "https://x.example/", title: "X" } },
		};
		expect(toGa4Event(page, now)).toEqual({
			name: "page_view",
			params: { page_location: "https://x.example/", page_title: "X" },
		});
		expect(
			toGa4Event(
				track("Newsletter Subscribed", { list: "weekly", tags: ["a"] }),
				now,
			),
		).toEqual({ name: "newsletter_subscribed", params: { list: "weekly" } });
	});

	it("drops, with the reason, what GA4 would discard", () => {
		expect(toGa4Event(track("A".repeat(41), {}), now)).toEqual({
			dropped: `event name '${"a".repeat(41)}' must be 1–40 characters`,
		});
		expect(toGa4Event(track("Session Start", {}), now)).toEqual({
			dropped: "event name 'session_start' is reserved by GA4",
		});
		expect(toGa4Event(track("Clicked", { "bad-name": 1 }), now)).toEqual({
			dropped:
				"parameter name 'bad-name' must start with a letter and hold only letters, digits and '_'",
		});
		expect(
			toGa4Event(track("Clicked", { label: "x".repeat(101) }), now),
		).toEqual({
			dropped: "parameter 'label' is 101 characters; GA4 takes at most 100",
		});
		const many = Object.fromEntries(
			Array.from({ length: 26 }, (_, i) => [`p${i}`, i]),
		);
		expect(toGa4Event(track("Clicked", many), now)).toEqual({
			dropped: "26 parameters; GA4 takes at most 25",
		});
		expect(
			toGa4Event(
				{ ...track("Clicked", {}), timestamp: "2026-10-28T00:00:00.000Z" },
				now,
			),
		).toEqual({ dropped: "older than the 72 hours GA4 accepts" });
		expect(
			toGa4Event({ ...track("x", {}), type: "identify" }, now),
		).toMatchObject({
			dropped: expect.stringContaining("GA4 has no identify call"),
		});
	});
});

describe("names", () => {
	it("snake_cases", () => {
		expect(snakeCase("Video Played (HD)")).toBe("video_played_hd");
		expect(snakeCase("signedUp")).toBe("signed_up");
	});
	it("checks reserved prefixes", () => {
		expect(nameProblem("google_x", "parameter name")).toBe(
			"parameter name 'google_x' uses a prefix GA4 reserves",
		);
		expect(nameProblem("value", "parameter name")).toBeUndefined();
	});
});
