/** What the benchmark page hands each adapter. */
export interface Setup {
	/** The local sink's origin; each library posts under its own path. */
	sink: string;
	writeKey: string;
}

/** Sends one track call. */
export type Track = (
	event: string,
	properties: Record<string, unknown>,
) => void;

/**
 * What `create` returns at once: the library is created (the benchmark times this synchronous
 * part as start-up), and `ready` resolves once it has loaded.
 */
export interface Created {
	ready: Promise<Track>;
}
