import { type Browser, chromium } from "playwright-core";

/**
 * Flags for a headless Chromium on a machine without outside network: background services
 * would otherwise try to reach Google's hosts at every start.
 *
 * @example
 * chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROME_FLAGS });
 */
export const CHROME_FLAGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
];

/**
 * Starts Debian's Chromium (or CHROME_PATH). Playwright gives each launch a fresh temporary
 * profile (--user-data-dir), removed on close.
 *
 * @example
 * const browser = await launchChromium();
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
		args: [...CHROME_FLAGS, ...extraArgs],
	});
}
