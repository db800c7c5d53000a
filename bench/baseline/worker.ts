import { Hono } from "hono";

/**
 * The benchmark's baseline: a Hono Worker that only parses the JSON body and answers 200 —
 * the least any ingest endpoint must do, measured on the same runtime and load.
 */
const app = new Hono();
app.post("/v1/batch", async (c) => {
	const body = await c.req.json<{ batch?: unknown[] }>();
	return c.json({ success: true, accepted: body.batch?.length ?? 0 });
});

export default app;
