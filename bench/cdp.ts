// A DevTools Protocol connection to a Chromium the benchmark starts itself, over
// --remote-debugging-pipe, that enables nothing but what the benchmark asks for. Playwright and
// Puppeteer enable the Network domain on every page, which copies each request body on the
// page's main thread: sending a 350 KB body then cost 51–120 ms of main thread instead of
// 21–29 ms without it (measured on this machine), which would bill the instrument to the
// library that sends the most bytes. The protocol over a pipe is JSON messages ended by NUL.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

type Params = Record<string, unknown>;
interface Message {
	id?: number;
	method?: string;
	params?: Params;
	sessionId?: string;
	result?: Params;
	error?: { message: string };
}

/** A started Chromium and its one DevTools connection. */
export interface Chromium {
	version: string;
	/** Sends a command, to the browser or (with `sessionId`) to one page; resolves its result. */
	send<T = Params>(
		method: string,
		params?: Params,
		sessionId?: string,
	): Promise<T>;
	/** Resolves with the params of the next `method` event of `sessionId`. */
	once(method: string, sessionId?: string): Promise<Params>;
	close(): Promise<void>;
}

/**
 * Starts Chromium (CHROME_PATH or Debian's) with `args`, in a new temporary profile.
 *
 * @example
 * const chromium = await launch(CHROME_FLAGS);
 * const { targetId } = await chromium.send("Target.createTarget", { url: "about:blank" });
 */
export async function launch(args: string[]): Promise<Chromium> {
	const profile = mkdtempSync(join(tmpdir(), "conduit-bench-"));
	const child: ChildProcess = spawn(
		process.env.CHROME_PATH || "/usr/bin/chromium",
		[...args, "--remote-debugging-pipe", `--user-data-dir=${profile}`],
		{ stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
	);
	const input = child.stdio[3] as Writable;
	const output = child.stdio[4] as Readable;
	let next = 0;
	const pending = new Map<number, (message: Message) => void>();
	const waiting: { key: string; resolve: (params: Params) => void }[] = [];
	let buffer = "";
	output.setEncoding("utf8");
	output.on("data", (chunk: string) => {
		buffer += chunk;
		for (let end = buffer.indexOf("\0"); end >= 0; end = buffer.indexOf("\0")) {
			const message = JSON.parse(buffer.slice(0, end)) as Message;
			buffer = buffer.slice(end + 1);
			if (message.id !== undefined) pending.get(message.id)?.(message);
			else {
				const key = `${message.sessionId ?? ""} ${message.method}`;
				const index = waiting.findIndex((w) => w.key === key);
				if (index >= 0)
					waiting.splice(index, 1)[0]?.resolve(message.params ?? {});
			}
		}
	});
	const chromium: Chromium = {
		version: "",
		send(method, params = {}, sessionId) {
			const id = ++next;
			return new Promise((resolve, reject) => {
				pending.set(id, (message) => {
					pending.delete(id);
					if (message.error)
						reject(new Error(`${method}: ${message.error.message}`));
					else resolve(message.result as never);
				});
				input.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
			});
		},
		once(method, sessionId) {
			return new Promise((resolve) =>
				waiting.push({ key: `${sessionId ?? ""} ${method}`, resolve }),
			);
		},
		async close() {
			await chromium.send("Browser.close").catch(() => {});
			await new Promise((resolve) => {
				if (child.exitCode !== null) resolve(undefined);
				else child.once("exit", resolve);
			});
			rmSync(profile, { recursive: true, force: true });
		},
	};
	const { product } = await chromium.send<{ product: string }>(
		"Browser.getVersion",
	);
	chromium.version = product;
	return chromium;
}

/** One page in its own browser context (fresh cookies, storage and IndexedDB unless shared). */
export interface Tab {
	session: string;
	context: string;
	/** Loads `url` and resolves after its load event. */
	goto(url: string): Promise<void>;
	/** Evaluates `expression` in the page, awaiting a promise, and returns the value. */
	evaluate<T>(expression: string): Promise<T>;
	/**
	 * This page's main thread so far, in ms (Performance.getMetrics): `busy` is the time its
	 * tasks took (TaskDuration, wall clock), `cpu` the CPU time the thread used (ThreadTime),
	 * which other processes competing for the cores do not inflate.
	 */
	busy(): Promise<{ busy: number; cpu: number }>;
	close(): Promise<void>;
}

/**
 * Opens a page in browser context `context`, or in a new one.
 *
 * @example
 * const tab = await openTab(chromium);
 * await tab.goto("http://127.0.0.1:8080/");
 */
export async function openTab(
	chromium: Chromium,
	context?: string,
): Promise<Tab> {
	const browserContextId =
		context ??
		(
			await chromium.send<{ browserContextId: string }>(
				"Target.createBrowserContext",
			)
		).browserContextId;
	const { targetId } = await chromium.send<{ targetId: string }>(
		"Target.createTarget",
		{ url: "about:blank", browserContextId },
	);
	const { sessionId } = await chromium.send<{ sessionId: string }>(
		"Target.attachToTarget",
		{ targetId, flatten: true },
	);
	await chromium.send("Page.enable", {}, sessionId);
	await chromium.send("Performance.enable", {}, sessionId);
	return {
		session: sessionId,
		context: browserContextId,
		async goto(url) {
			const loaded = chromium.once("Page.loadEventFired", sessionId);
			await chromium.send("Page.navigate", { url }, sessionId);
			await loaded;
		},
		async evaluate<T>(expression: string) {
			const { result, exceptionDetails } = await chromium.send<{
				result: { value: T };
				exceptionDetails?: { exception?: { description?: string } };
			}>(
				"Runtime.evaluate",
				{ expression, awaitPromise: true, returnByValue: true },
				sessionId,
			);
			if (exceptionDetails)
				throw new Error(exceptionDetails.exception?.description ?? expression);
			return result.value;
		},
		async busy() {
			const { metrics } = await chromium.send<{
				metrics: { name: string; value: number }[];
			}>("Performance.getMetrics", {}, sessionId);
			const ms = (name: string) =>
				(metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
			return { busy: ms("TaskDuration"), cpu: ms("ThreadTime") };
		},
		async close() {
			await chromium.send("Target.closeTarget", { targetId });
		},
	};
}

/**
 * Closes every page of a browser context and forgets its storage.
 *
 * @example
 * await disposeContext(chromium, tab.context);
 */
export async function disposeContext(
	chromium: Chromium,
	context: string,
): Promise<void> {
	await chromium.send("Target.disposeBrowserContext", {
		browserContextId: context,
	});
}
