import * as v from "valibot";
import {
	CATALOGUE,
	COUPONS,
	FREE_SHIPPING_FROM_CENTS,
	SHIPPING_CENTS,
	TAX_RATE,
} from "./catalogue.ts";

/**
 * The body of `POST /orders`: who orders (the app's user id, and the browser's anonymousId when
 * the page passes it on, so the order joins the visit that led to it) and what.
 *
 * @example
 * { "userId": "usr_1001", "email": "ada@example.com", "items": [{ "sku": "ESP-250", "quantity": 2 }] }
 */
export const OrderRequestSchema = v.strictObject({
	userId: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(255)),
	email: v.pipe(v.string(), v.trim(), v.email()),
	anonymousId: v.optional(
		v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(255)),
	),
	items: v.pipe(
		v.array(
			v.strictObject({
				sku: v.picklist([...CATALOGUE.keys()], "unknown sku"),
				quantity: v.pipe(
					v.number(),
					v.integer(),
					v.minValue(1),
					v.maxValue(99),
				),
			}),
		),
		v.minLength(1, "an order needs at least one item"),
		v.maxLength(50),
	),
	coupon: v.optional(v.picklist([...COUPONS.keys()], "unknown coupon")),
});
export type OrderRequest = v.InferOutput<typeof OrderRequestSchema>;

/** A placed order, amounts in cents. */
export interface Order {
	id: string;
	request: OrderRequest;
	subtotalCents: number;
	discountCents: number;
	shippingCents: number;
	taxCents: number;
	totalCents: number;
}

/**
 * Prices an order from the catalogue: discount on the subtotal, shipping and tax on what is left.
 *
 * @example
 * priceOrder("ord_1", { userId: "u1", email: "a@b.c", items: [{ sku: "ESP-250", quantity: 2 }] })
 * // { id: "ord_1", subtotalCents: 1900, discountCents: 0, shippingCents: 490, taxCents: 380, totalCents: 2770, … }
 */
export function priceOrder(id: string, request: OrderRequest): Order {
	const subtotalCents = request.items.reduce(
		(sum, item) => sum + unitCents(item.sku) * item.quantity,
		0,
	);
	const rate = request.coupon ? (COUPONS.get(request.coupon) ?? 0) : 0;
	const discountCents = Math.round(subtotalCents * rate);
	const netCents = subtotalCents - discountCents;
	const shippingCents =
		netCents >= FREE_SHIPPING_FROM_CENTS ? 0 : SHIPPING_CENTS;
	const taxCents = Math.round(netCents * TAX_RATE);
	return {
		id,
		request,
		subtotalCents,
		discountCents,
		shippingCents,
		taxCents,
		totalCents: netCents + shippingCents + taxCents,
	};
}

/**
 * The `Order Completed` properties of the Segment e-commerce spec (v2): `revenue` and `subtotal`
 * exclude shipping and tax (the collector adds `revenue` to the profile's lifetime value),
 * `total` is what the customer paid, and each product carries its id, SKU, name, category,
 * unit price and quantity.
 *
 * @example
 * analytics.track({ userId, event: "Order Completed", properties: orderCompleted(order) });
 */
export function orderCompleted(order: Order): Record<string, unknown> {
	const { request } = order;
	const net = order.subtotalCents - order.discountCents;
	return {
		order_id: order.id,
		affiliation: "Conduit Coffee online",
		subtotal: euros(net),
		revenue: euros(net),
		shipping: euros(order.shippingCents),
		tax: euros(order.taxCents),
		discount: euros(order.discountCents),
		...(request.coupon ? { coupon: request.coupon } : {}),
		total: euros(order.totalCents),
		currency: "EUR",
		products: request.items.map((item, index) => {
			const product = CATALOGUE.get(item.sku);
			return {
				product_id: item.sku,
				sku: item.sku,
				name: product?.name,
				category: product?.category,
				price: euros(unitCents(item.sku)),
				quantity: item.quantity,
				position: index + 1,
			};
		}),
	};
}

function unitCents(sku: string): number {
	return CATALOGUE.get(sku)?.priceCents ?? 0;
}

function euros(cents: number): number {
	return cents / 100;
}
