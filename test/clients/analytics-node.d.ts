/**
 * The part of analytics-node 6.x (the package before @segment/analytics-node, written in plain
 * JavaScript without types) that test/clients.test.ts calls, as its index.js defines it.
 */
declare module "analytics-node" {
	interface Message {
		userId?: string;
		anonymousId?: string;
		previousId?: string;
		event?: string;
		name?: string;
		category?: string;
		groupId?: string;
		traits?: Record<string, unknown>;
		properties?: Record<string, unknown>;
	}
	export default class Analytics {
		constructor(
			writeKey: string,
			options?: {
				host?: string;
				flushAt?: number;
				flushInterval?: number;
				retryCount?: number;
				errorHandler?: (error: unknown) => void;
			},
		);
		identify(message: Message): this;
		track(message: Message): this;
		page(message: Message): this;
		screen(message: Message): this;
		group(message: Message): this;
		alias(message: Message): this;
		flush(): Promise<unknown>;
	}
}
