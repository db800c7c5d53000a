import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
	devConfig,
	type LocalCollector,
	startCollector,
} from "./support/collector";
import { EVENT_JSON, queryEventsFast, waitForRecords } from "./support/events";

/*
 * examples/node run as a user runs it (`node src/server.ts`, its defaults untouched but for the
 * collector's address and a free port) against the collector Worker started here, with
 * config/dev.json in KV: its "backend" source is the server-side key the example uses. An order
 * placed over HTTP must reach D1 as an identify and an `Order Completed` track once the server has
 * shut down (SIGTERM: close, then closeAndFlush), resolved into one profile.
 */

const EXAMPLE = fileURLToPath(new URL("../examples/node", import.meta.url));
const ANONYMOUS_ID = "01JB8Z3N6W4Y0V6S3KQ2E5T7XR";
let collector: LocalCollector;
let server: ChildProcess | undefined;

beforeAll(async () => {
	collector = await startCollector();
});

afterAll(async () => {
	if (server?.exitCode === null) server.kill("SIGKILL");
	await collector?.close();
});

/** Starts the example and resolves with its URL, read from its first line of output. */
async function startExample(): Promise<string> {
	const child = spawn(process.execPath, ["src/server.ts"], {
		cwd: EXAMPLE,
		env: { ...process.env, PORT: "0", CONDUIT_ENDPOINT: collector.url.origin },
		stdio: ["ignore", "pipe", "inherit"],
	});
	server = child;
	let output = "";
	const deadline = AbortSignal.timeout(10_000);
	const url = new Promise<string>((resolve, reject) => {
		child.stdout?.on("data", (chunk: Buffer) => {
			output += chunk;
			const found = /Orders API on (http:\/\/\S+)/.exec(output);
			if (found?.[1]) resolve(found[1]);
		});
		child.once("exit", (code) =>
			reject(new Error(`the example exited (${code}) before listening`)),
		);
		deadline.addEventListener("abort", () =>
			reject(new Error(`the example did not listen within 10 s: ${output}`)),
		);
	});
	return url;
}

function postOrder(url: string, order: unknown): Promise<Response> {
	return fetch(`${url}/orders`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify(order),
	});
}

interface Row {
	message_id: string;
	type: string;
	event: string | null;
	user_id: string | null;
	anonymous_id: string | null;
	profile_id: string | null;
	payload: string;
}

it("the server-side key refuses browsers: its source allows no origin", async () => {
	const backend = devConfig.sources.find((s) => s.id === "backend");
	expect(backend).toBeDefined();
	const response = await fetch(`${collector.url.origin}/v1/track`, {
		method: "POST",
		headers: {
			"content-type": "application/json",
			origin: "http://localhost:5173",
			authorization: `Basic ${btoa(`${backend?.writeKey}:`)}`,
		},
		body: JSON.stringify({ userId: "usr_1001", event: "Order Completed" }),
	});
	expect(response.status).toBe(403);
	expect(await response.json()).toMatchObject({ error: "origin_not_allowed" });
});

it("sends orders from the backend: identify and Order Completed land in D1 in one profile", async () => {
	const url = await startExample();

	const invalid = await postOrder(url, {
		userId: "usr_1001",
		email: "not-an-email",
		items: [{ sku: "NOPE", quantity: 0 }],
	});
	expect(invalid.status).toBe(400);
	const problem = (await invalid.json()) as { error: string; message: string };
	expect(problem.error).toBe("invalid_order");
	expect(problem.message).toContain("items.0.sku: unknown sku");

	// 2 × 9.50 + 1 × 59.00 = 78.00; WELCOME10 takes 7.80 → 70.20; free shipping from 50;
	// 20% VAT on 70.20 = 14.04; paid 84.24.
	const placed = await postOrder(url, {
		userId: "usr_1001",
		email: "Ada@Example.com",
		anonymousId: ANONYMOUS_ID,
		items: [
			{ sku: "ESP-250", quantity: 2 },
			{ sku: "GRD-01", quantity: 1 },
		],
		coupon: "WELCOME10",
	});
	expect(placed.status).toBe(201);
	const { orderId, total } = (await placed.json()) as {
		orderId: string;
		total: number;
	};
	expect(orderId).toMatch(/^ord_[0-9a-f-]{36}$/);
	expect(total).toBe(84.24);

	// The client sends every 15 events or 10 s: nothing has gone yet. Shutting down must send
	// the two events at once (closeAndFlush), not wait for the timer or drop them.
	server?.kill("SIGTERM");
	const [code] = await Promise.race([
		once(server as ChildProcess, "exit"),
		new Promise<never>((_, reject) =>
			setTimeout(() => reject(new Error("no exit within 5 s")), 5_000),
		),
	]);
	expect(code).toBe(0);

	await waitForRecords(
		collector,
		(events) => events.filter((e) => e.sourceId === "backend").length >= 2,
	);
	// In the order they were received (the identify first).
	const rows = await queryEventsFast<Row>(
		collector,
		`SELECT messageId AS message_id, type, event, userId AS user_id, anonymousId AS anonymous_id,
  profileId AS profile_id, ${EVENT_JSON} AS payload
FROM events WHERE sourceId = 'backend' ORDER BY receivedAt, type = 'track'`,
	);
	expect(rows.map((row) => row.event ?? row.type)).toEqual([
		"identify",
		"Order Completed",
	]);
	const [identify, track] = rows.map(
		(row) =>
			JSON.parse(row.payload) as Record<string, unknown> & {
				context: Record<string, unknown>;
			},
	);
	for (const row of rows) {
		expect(row.user_id).toBe("usr_1001");
		expect(row.anonymous_id).toBe(ANONYMOUS_ID);
	}
	expect(identify?.traits).toEqual({ email: "Ada@Example.com" });
	expect(rows[1]?.message_id).toBe(`${orderId}:completed`);
	expect(track?.properties).toEqual({
		order_id: orderId,
		affiliation: "Conduit Coffee online",
		subtotal: 70.2,
		revenue: 70.2,
		shipping: 0,
		tax: 14.04,
		discount: 7.8,
		coupon: "WELCOME10",
		total: 84.24,
		currency: "EUR",
		products: [
			{
				product_id: "ESP-250",
				sku: "ESP-250",
				name: "Espresso beans, 250 g",
				category: "Coffee",
				price: 9.5,
				quantity: 2,
				position: 1,
			},
			{
				product_id: "GRD-01",
				sku: "GRD-01",
				name: "Hand grinder",
				category: "Equipment",
				price: 59,
				quantity: 1,
				position: 2,
			},
		],
	});
	for (const event of [identify, track]) {
		expect(event?.context.library).toMatchObject({
			name: "@segment/analytics-node",
		});
		// ipPolicy "none": the request came from the backend, whose address is not the customer's.
		expect(event?.context.ip).toBeUndefined();
	}

	// One profile: both events carry the same user_id and anonymousId. The identify's email
	// (lower-cased, a trait identifier by default) joins it, and the order's revenue is its
	// lifetime value.
	expect(rows[1]?.profile_id).toBe(rows[0]?.profile_id);
	const profile = await collector.env.DB.prepare(
		"SELECT (SELECT state ->> '$.t.lifetime_value.a' FROM audience_profiles WHERE profile_id = ?1) AS lifetime_value, (SELECT json_group_array(type || ':' || value) FROM (SELECT type, value FROM identities WHERE profile_id = ?1 ORDER BY type)) AS identities FROM profiles WHERE id = ?1",
	)
		.bind(rows[0]?.profile_id)
		.first<{ lifetime_value: number; identities: string }>();
	expect(profile?.lifetime_value).toBeCloseTo(70.2, 6);
	expect(JSON.parse(profile?.identities ?? "[]")).toEqual([
		`anonymous_id:${ANONYMOUS_ID}`,
		"email:ada@example.com",
		"user_id:usr_1001",
	]);
}, 30_000);
