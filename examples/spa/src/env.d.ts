/// <reference types="vite/client" />

interface ImportMetaEnv {
	/** The collector's base URL, e.g. https://collect.example.com. */
	readonly VITE_CONDUIT_ENDPOINT: string;
	/** The write key of a source that allows this app's origin. */
	readonly VITE_CONDUIT_WRITE_KEY: string;
}

interface ImportMeta {
	readonly env: ImportMetaEnv;
}
