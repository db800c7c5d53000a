import type { WireObject } from "@conduit/protocol";
import type { EnrichedEvent } from "../../event";
import { ownValue } from "../../routing/path";

/*
 * Segment Spec → GA4 recommended events, and GA4's collection limits
 * (Measurement Protocol reference, "Limitations" and "Reserved names"). An event that would
 * break a limit is dropped with a reason rather than sent: GA4 answers 2xx to anything and
 * silently discards what it cannot take.
 */

/** Segment e-commerce (v2) and lifecycle event names → GA4 recommended event names. */
const RECOMMENDED: Readonly<Record<string, string>> = {
	"Products Searched": "search",
	"Product List Viewed": "view_item_list",
	"Product Clicked": "select_item",
	"Product Viewed": "view_item",
	"Product Added": "add_to_cart",
	"Product Removed": "remove_from_cart",
	"Cart Viewed": "view_cart",
	"Checkout Started": "begin_checkout",
	"Payment Info Entered": "add_payment_info",
	"Order Completed": "purchase",
	"Order Refunded": "refund",
	"Promotion Viewed": "view_promotion",
	"Promotion Clicked": "select_promotion",
	"Product Added to Wishlist": "add_to_wishlist",
	"Signed Up": "sign_up",
	"Signed In": "login",
};

/** Segment property → GA4 event parameter, for the properties GA4 knows under another name. */
const PARAMS: Readonly<Record<string, string>> = {
	order_id: "transaction_id",
	query: "search_term",
	list_id: "item_list_id",
	promotion_id: "promotion_id",
	creative: "creative_name",
	position: "creative_slot",
};

/** Segment product fields → GA4 item fields. */
const ITEM_FIELDS: Readonly<Record<string, string>> = {
	product_id: "item_id",
	sku: "item_id",
	name: "item_name",
	brand: "item_brand",
	category: "item_category",
	variant: "item_variant",
	price: "price",
	quantity: "quantity",
	coupon: "coupon",
	position: "index",
};

/** Product-level properties: on single-product events they make up the one item. */
const PRODUCT_KEYS = new Set(Object.keys(ITEM_FIELDS));

/** GA4 limits (standard properties). */
export const GA4_LIMITS = {
	eventsPerRequest: 25,
	requestBytes: 130 * 1024,
	nameLength: 40,
	paramsPerEvent: 25,
	paramValueLength: 100,
	userPropertiesPerRequest: 25,
	userPropertyNameLength: 24,
	userPropertyValueLength: 36,
	itemsPerEvent: 200,
	/** Measurement Protocol accepts events backdated at most 72 hours. */
	maxAgeMs: 72 * 3600 * 1000,
} as const;

/** Longer limits GA4 documents for these parameters. */
const LONG_PARAMS: Readonly<Record<string, number>> = {
	page_location: 1000,
	page_referrer: 420,
	page_title: 300,
};

const RESERVED_EVENTS = new Set([
	"ad_activeview",
	"ad_click",
	"ad_exposure",
	"ad_query",
	"ad_reward",
	"adunit_exposure",
	"app_background",
	"app_clear_data",
	"app_exception",
	"app_remove",
	"app_store_refund",
	"app_store_subscription_cancel",
	"app_store_subscription_convert",
	"app_store_subscription_renew",
	"app_uninstall",
	"app_update",
	"app_upgrade",
	"dynamic_link_app_open",
	"dynamic_link_app_update",
	"dynamic_link_first_open",
	"error",
	"firebase_campaign",
	"first_open",
	"first_visit",
	"in_app_purchase",
	"notification_dismiss",
	"notification_foreground",
	"notification_open",
	"notification_receive",
	"os_update",
	"session_start",
	"session_start_with_rollout",
	"user_engagement",
]);
const RESERVED_PREFIXES = ["_", "firebase_", "ga_", "google_", "gtag."];
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export interface Ga4Event {
	name: string;
	params: WireObject;
}

/**
 * The GA4 event for a Segment event, or the reason it cannot be sent.
 *
 * @example
 * toGa4Event({ type: "track", event: "Order Completed", properties: { order_id: "o1", revenue: 9, currency: "EUR", products: [...] }, … }, now)
 * // { name: "purchase", params: { transaction_id: "o1", value: 9, currency: "EUR", items: [...] } }
 */
export function toGa4Event(
	event: EnrichedEvent,
	now: number,
): Ga4Event | { dropped: string } {
	if (now - Date.parse(event.timestamp) > GA4_LIMITS.maxAgeMs)
		return { dropped: "older than the 72 hours GA4 accepts" };
	const translated = translate(event);
	if ("dropped" in translated) return translated;
	const problem =
		nameProblem(translated.name, "event name") ??
		(RESERVED_EVENTS.has(translated.name)
			? `event name '${translated.name}' is reserved by GA4`
			: undefined) ??
		paramsProblem(translated.params);
	return problem ? { dropped: problem } : translated;
}

function translate(event: EnrichedEvent): Ga4Event | { dropped: string } {
	const properties = event.properties ?? {};
	const page = asObject(event.context.page);
	switch (event.type) {
		case "page":
		case "screen": {
			const params: WireObject = {};
			setString(params, "page_location", properties.url ?? page.url);
			setString(
				params,
				"page_title",
				properties.title ?? page.title ?? event.name,
			);
			setString(params, "page_referrer", properties.referrer ?? page.referrer);
			if (event.type === "screen") setString(params, "screen_name", event.name);
			return {
				name: event.type === "page" ? "page_view" : "screen_view",
				params,
			};
		}
		case "track": {
			const name = event.event ?? "";
			const recommended = ownValue(RECOMMENDED, name);
			return recommended
				? { name: recommended, params: ecommerceParams(properties) }
				: { name: snakeCase(name), params: scalarParams(properties) };
		}
		default:
			return {
				dropped: `GA4 has no ${event.type} call; user properties travel with the user's events`,
			};
	}
}

function ecommerceParams(properties: WireObject): WireObject {
	const params: WireObject = {};
	const products = Array.isArray(properties.products)
		? properties.products.map(asObject)
		: undefined;
	const hasProduct =
		!products && Object.keys(properties).some((key) => PRODUCT_KEYS.has(key));
	for (const [key, value] of Object.entries(properties)) {
		if (key === "products" || (hasProduct && PRODUCT_KEYS.has(key))) continue;
		if (!isScalar(value)) continue;
		params[ownValue(PARAMS, key) ?? key] = value;
	}
	// GA4 reads `value` as the monetary value: Segment's revenue or total, or the product's price.
	if (params.value === undefined) {
		const value = properties.revenue ?? properties.total;
		if (typeof value === "number") params.value = value;
		else if (hasProduct && typeof properties.price === "number")
			params.value = properties.price * (Number(properties.quantity) || 1);
	}
	delete params.revenue;
	delete params.total;
	const items = products ?? (hasProduct ? [properties] : undefined);
	if (items) params.items = items.map(toItem);
	return params;
}

function toItem(product: WireObject): WireObject {
	const item: WireObject = {};
	for (const [key, value] of Object.entries(product)) {
		const field = ownValue(ITEM_FIELDS, key);
		// product_id wins over sku for item_id.
		if (!field || !isScalar(value) || (key === "sku" && item.item_id)) continue;
		item[field] = value;
	}
	return item;
}

function scalarParams(properties: WireObject): WireObject {
	const params: WireObject = {};
	for (const [key, value] of Object.entries(properties))
		if (isScalar(value)) params[key] = value;
	return params;
}

function paramsProblem(params: WireObject): string | undefined {
	const names = Object.keys(params);
	if (names.length > GA4_LIMITS.paramsPerEvent)
		return `${names.length} parameters; GA4 takes at most ${GA4_LIMITS.paramsPerEvent}`;
	for (const [name, value] of Object.entries(params)) {
		if (name === "items") {
			if (Array.isArray(value) && value.length > GA4_LIMITS.itemsPerEvent)
				return `${value.length} items; GA4 takes at most ${GA4_LIMITS.itemsPerEvent}`;
			continue;
		}
		const problem = nameProblem(name, "parameter name");
		if (problem) return problem;
		const limit = ownValue(LONG_PARAMS, name) ?? GA4_LIMITS.paramValueLength;
		if (typeof value === "string" && value.length > limit)
			return `parameter '${name}' is ${value.length} characters; GA4 takes at most ${limit}`;
	}
	return undefined;
}

/**
 * Why a name breaks GA4's naming rules, or undefined.
 *
 * @example
 * nameProblem("1st_visit", "event name") // "event name '1st_visit' must start with a letter and hold only letters, digits and '_'"
 */
export function nameProblem(
	name: string,
	what: string,
	maxLength: number = GA4_LIMITS.nameLength,
): string | undefined {
	if (name.length === 0 || name.length > maxLength)
		return `${what} '${name}' must be 1–${maxLength} characters`;
	if (RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix)))
		return `${what} '${name}' uses a prefix GA4 reserves`;
	if (!NAME.test(name))
		return `${what} '${name}' must start with a letter and hold only letters, digits and '_'`;
	return undefined;
}

/**
 * GA4-style name for a custom event: `"Newsletter Subscribed"` → `"newsletter_subscribed"`.
 *
 * @example
 * snakeCase("Video Played (HD)") // "video_played_hd"
 */
export function snakeCase(name: string): string {
	return name
		.trim()
		.replace(/([a-z0-9])([A-Z])/g, "$1_$2")
		.replace(/[^A-Za-z0-9]+/g, "_")
		.replace(/^_+|_+$/g, "")
		.toLowerCase();
}

function setString(params: WireObject, key: string, value: unknown): void {
	if (typeof value === "string" && value !== "") params[key] = value;
}

function isScalar(value: unknown): value is string | number | boolean {
	return (
		typeof value === "string" ||
		typeof value === "number" ||
		typeof value === "boolean"
	);
}

function asObject(value: unknown): WireObject {
	return typeof value === "object" && value !== null && !Array.isArray(value)
		? (value as WireObject)
		: {};
}
