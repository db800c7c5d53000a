/**
 * Credentials the local vendor servers accept, and the Worker secrets tests set to them
 * (vitest.config.ts puts them in the Worker's env). Test-only values.
 */
export const TEST_SECRETS = {
	WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	WEBHOOK_SECRET_NEXT: "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	SEGMENT_WRITE_KEY: "wk_test_segment_0123456789",
	SEGMENT_API_TOKEN: "sgp_test_token_0123456789",
	GA4_API_SECRET: "ga4_test_secret_0123",
	MIXPANEL_SECRET: "mp_test_service_account_secret",
	MIXPANEL_GDPR_TOKEN: "mp_test_gdpr_oauth_token",
	AMPLITUDE_API_KEY: "amp_test_api_key_0123456789",
	AMPLITUDE_SECRET_KEY: "amp_test_secret_key_0123456789",
	POSTHOG_PERSONAL_API_KEY: "phx_test_personal_api_key_0123",
} as const;

/** Public (non-secret) credentials, plain in the config. */
export const TEST_PUBLIC = {
	posthogApiKey: "phc_test_project_key",
	posthogProjectId: "12345",
	mixpanelProjectToken: "mp_test_project_token",
	mixpanelProjectId: "3170000",
	mixpanelUsername: "conduit.test.mp-service-account",
	ga4MeasurementId: "G-TEST12345",
} as const;

/** The names of the local vendor servers; each listens on its own port. */
export const VENDORS = [
	"webhook",
	"segment",
	"ga4",
	"mixpanel",
	"amplitude",
	"posthog",
] as const;
export type VendorName = (typeof VENDORS)[number];

/** One request a vendor server received, as tests read it back. */
export interface RecordedRequest {
	method: string;
	/** The path after the tenant prefix `/t/<key>`, with the query. */
	url: string;
	headers: Record<string, string>;
	body: unknown;
	/** Where the request breaks the vendor's documented contract; empty when it does not. */
	violations: string[];
	status: number;
	receivedAt: number;
}

/** A response a test queues for a tenant's next valid request. */
export interface ScriptedResponse {
	status: number;
	body?: unknown;
	headers?: Record<string, string>;
	/** Milliseconds to wait before answering: a slow vendor, or one the sender times out on. */
	delayMs?: number;
}

declare module "vitest" {
	/** What global-setup.ts hands to the tests: each vendor server's base URL. */
	export interface ProvidedContext {
		vendors: Record<VendorName, string>;
	}
}
