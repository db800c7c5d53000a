/** A product as the backend knows it: the price charged comes from here, never from the client. */
export interface Product {
	sku: string;
	name: string;
	category: string;
	/** Net unit price in cents. */
	priceCents: number;
}

/**
 * The products the shop sells, by SKU (a real service reads its database).
 *
 * @example
 * CATALOGUE.get("ESP-250")?.priceCents // 950
 */
export const CATALOGUE: ReadonlyMap<string, Product> = new Map(
	[
		{
			sku: "ESP-250",
			name: "Espresso beans, 250 g",
			category: "Coffee",
			priceCents: 950,
		},
		{
			sku: "FLT-500",
			name: "Filter blend, 500 g",
			category: "Coffee",
			priceCents: 1400,
		},
		{
			sku: "GRD-01",
			name: "Hand grinder",
			category: "Equipment",
			priceCents: 5900,
		},
	].map((product) => [product.sku, product]),
);

/**
 * Coupon codes and the share of the subtotal they take off.
 *
 * @example
 * COUPONS.get("WELCOME10") // 0.1
 */
export const COUPONS: ReadonlyMap<string, number> = new Map([
	["WELCOME10", 0.1],
]);

/** VAT charged on the discounted subtotal. */
export const TAX_RATE = 0.2;
/** Orders whose discounted subtotal reaches this ship free; others pay SHIPPING_CENTS. */
export const FREE_SHIPPING_FROM_CENTS = 5000;
export const SHIPPING_CENTS = 490;
