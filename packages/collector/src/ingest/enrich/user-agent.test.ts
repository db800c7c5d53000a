import { describe, expect, it } from "vitest";
import { parseUserAgent } from "./user-agent";

describe("parseUserAgent", () => {
	it("parses the fixture browsers", () => {
		expect(
			parseUserAgent(
				"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			),
		).toEqual({
			browser: { name: "Chrome", version: "131.0.0.0" },
			os: { name: "Android", version: "14" },
			device: { type: "mobile", manufacturer: "Google", model: "Pixel 8" },
			isBot: false,
		});
		expect(
			parseUserAgent(
				"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
			),
		).toMatchObject({
			browser: { name: "Firefox", version: "132.0" },
			os: { name: "Linux" },
			device: { type: "desktop" },
		});
	});

	it.each([
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"curl/8.5.0",
		"python-requests/2.32.3",
		"Go-http-client/2.0",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
		"Lighthouse",
		"",
	])("flags %s as a bot", (userAgent) => {
		expect(parseUserAgent(userAgent).isBot).toBe(true);
	});

	it("does not flag a phone brand that ends in 'bot'", () => {
		expect(
			parseUserAgent(
				"Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0 Mobile Safari/537.36",
			).isBot,
		).toBe(false);
	});
});
