import { Hono } from "hono";

interface PlatformEnv {
	EVENTS: Queue<string>;
	RATE_LIMITER: RateLimit;
}

/**
 * The second baseline: the bare Worker plus the two platform calls every ingest request makes —
 * one rate limiter check and one queue send of the body — and nothing else. Locally both are
 * emulated by Durable Objects; this measures what they cost on the same runtime and load.
 */
const app = new Hono<{ Bindings: PlatformEnv }>();
app.post("/v1/batch", async (c) => {
	const text = await c.req.text();
	const body = JSON.parse(text) as { batch?: unknown[] };
	await c.env.RATE_LIMITER.limit({ key: "web" });
	await c.env.EVENTS.send(text, { contentType: "text" });
	return c.json({ success: true, accepted: body.batch?.length ?? 0 });
});

export default app;
