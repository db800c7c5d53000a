import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		name: "protocol",
		include: ["src/**/*.test.ts"],
		// Far from UTC, so a date parser that read a GMT form as local time would be off by hours.
		env: { TZ: "Pacific/Chatham" },
	},
});
