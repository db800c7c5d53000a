/// <reference types="vite/client" />
import type { D1Migration } from "cloudflare:test";

declare global {
	namespace Cloudflare {
		interface GlobalProps {
			mainModule: typeof import("../src/index");
		}
		interface Env {
			TEST_MIGRATIONS: D1Migration[];
			UNMIGRATED_DB: D1Database;
		}
	}
}
