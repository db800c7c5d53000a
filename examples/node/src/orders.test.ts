import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { OrderRequestSchema, orderCompleted, priceOrder } from "./orders.ts";

const order = (items: { sku: string; quantity: number }[], coupon?: string) =>
	v.parse(OrderRequestSchema, {
		userId: "usr_1",
		email: "a@example.com",
		items,
		...(coupon ? { coupon } : {}),
	});

describe("priceOrder", () => {
	it("charges shipping under 50 € after the discount and none from 50 €", () => {
		// 4 × 14.00 = 56.00, 10% off → 50.40: free shipping.
		expect(
			priceOrder("o1", order([{ sku: "FLT-500", quantity: 4 }], "WELCOME10")),
		).toMatchObject({
			subtotalCents: 5600,
			discountCents: 560,
			shippingCents: 0,
		});
		// 5 × 9.50 = 47.50: shipping 4.90, VAT 9.50, total 61.90.
		expect(
			priceOrder("o2", order([{ sku: "ESP-250", quantity: 5 }])),
		).toMatchObject({
			shippingCents: 490,
			taxCents: 950,
			totalCents: 6190,
		});
	});

	it("reports revenue without shipping and tax, and no coupon key when none was used", () => {
		const properties = orderCompleted(
			priceOrder("o3", order([{ sku: "ESP-250", quantity: 1 }])),
		);
		expect(properties).toMatchObject({
			revenue: 9.5,
			shipping: 4.9,
			tax: 1.9,
			total: 16.3,
		});
		expect(properties).not.toHaveProperty("coupon");
	});

	it("refuses unknown SKUs, empty orders and non-integer quantities", () => {
		for (const items of [
			[{ sku: "NOPE", quantity: 1 }],
			[],
			[{ sku: "ESP-250", quantity: 1.5 }],
		])
			expect(
				v.safeParse(OrderRequestSchema, { userId: "u", email: "a@b.co", items })
					.success,
			).toBe(false);
	});
});
