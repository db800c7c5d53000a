import { Analytics } from "@segment/analytics-node";
import { createOrdersServer } from "./app.ts";

/*
 * Runs the orders API. Defaults fit `npm run dev`: the local collector and config/dev.json's
 * "backend" source. In production set CONDUIT_ENDPOINT and CONDUIT_WRITE_KEY (a server-side key:
 * keep it out of browsers and repositories).
 */
const endpoint = process.env.CONDUIT_ENDPOINT ?? "http://localhost:8787";
const writeKey = process.env.CONDUIT_WRITE_KEY ?? "wk_dev_backend_0123456789";
const port = Number(process.env.PORT ?? 3000);

// Segment's Node library, unchanged: `host` is all it takes to send to Conduit (POST /v1/batch
// with the write key as the Basic username). It sends every 15 events or 10 s (its defaults).
const analytics = new Analytics({ writeKey, host: endpoint });
// An event the client gave up on (after its retries, or at the shutdown deadline): log which, so
// it can be sent again from the order records, and exit non-zero so the loss is seen.
analytics.on("error", ({ code, reason, ctx }) => {
	const event = ctx?.event;
	console.error(
		`analytics ${code}: ${event?.type} ${event?.event ?? ""} ${event?.messageId}: ${reason}`,
	);
	process.exitCode = 1;
});

const server = createOrdersServer(analytics);
server.listen(port, "localhost", () => {
	const address = server.address();
	const bound = typeof address === "object" && address ? address.port : port;
	console.log(
		`Orders API on http://localhost:${bound} (events to ${endpoint})`,
	);
});

// Stop taking orders, finish the ones in flight, then send what is queued before exiting:
// events still in the client's memory would otherwise be lost with the process.
async function shutdown(signal: string): Promise<void> {
	console.log(`${signal}: closing`);
	await new Promise((resolve) => {
		server.close(resolve);
		server.closeIdleConnections();
	});
	await analytics.closeAndFlush({ timeout: 10_000 });
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
	process.once(signal, () => void shutdown(signal));
