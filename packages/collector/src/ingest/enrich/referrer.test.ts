import { describe, expect, it } from "vitest";
import { classifyReferrer } from "./referrer";

const page = "https://shop.example.com/p/1";

describe("classifyReferrer", () => {
	it.each([
		["", "direct"],
		["https://www.google.com/", "search"],
		["https://www.google.co.uk/search?q=x", "search"],
		["https://www.bing.com/", "search"],
		["https://duckduckgo.com/", "search"],
		["https://mail.google.com/", "email"],
		["https://outlook.live.com/mail/0/", "email"],
		["https://www.facebook.com/", "social"],
		["https://l.facebook.com/l.php?u=x", "social"],
		["https://t.co/abc", "social"],
		["https://www.linkedin.com/feed/", "social"],
		["https://shop.example.com/cart", "internal"],
		["https://www.shop.example.com/", "internal"],
		["https://blog.partner.example/post", "other"],
		["not a url", "other"],
	])("%s → %s", (referrer, type) => {
		expect(classifyReferrer(referrer, page).type).toBe(type);
	});

	it("does not take a host that merely contains a search engine's name for one", () => {
		expect(classifyReferrer("https://notgoogle.example/", page).type).toBe(
			"other",
		);
		expect(classifyReferrer("https://x.com.evil.example/", page).type).toBe(
			"other",
		);
	});

	it("reports the referrer host", () => {
		expect(classifyReferrer("https://www.google.com/", page)).toEqual({
			type: "search",
			host: "www.google.com",
		});
	});

	it("counts utm_medium=email as email whatever the referrer", () => {
		expect(classifyReferrer("", page, "email")).toEqual({ type: "email" });
		expect(classifyReferrer("https://t.co/x", page, "Email").type).toBe(
			"email",
		);
	});
});
