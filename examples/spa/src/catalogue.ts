/** A product the shop sells. */
export interface Product {
	sku: string;
	name: string;
	price: number;
	category: string;
}

/**
 * The shop's products. A real app fetches them; a constant keeps the example free of a backend.
 *
 * @example
 * PRODUCTS.find((product) => product.sku === "ESP-250")?.name // "Espresso beans, 250 g"
 */
export const PRODUCTS: readonly Product[] = [
	{
		sku: "ESP-250",
		name: "Espresso beans, 250 g",
		price: 9.5,
		category: "Coffee",
	},
	{
		sku: "FLT-500",
		name: "Filter blend, 500 g",
		price: 14,
		category: "Coffee",
	},
	{
		sku: "GRD-01",
		name: "Hand grinder",
		price: 59,
		category: "Equipment",
	},
];
