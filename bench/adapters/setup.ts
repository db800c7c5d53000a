/** What the benchmark page hands each adapter. */
export interface Setup {
	/** The local sink's origin; each library posts under its own path. */
	sink: string;
	writeKey: string;
}
