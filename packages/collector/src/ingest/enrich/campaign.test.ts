import { describe, expect, it } from "vitest";
import { campaignFromUrl } from "./campaign";

describe("campaignFromUrl", () => {
	it("maps utm_* to Segment's campaign keys and keeps click ids", () => {
		const url =
			"https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=shoes&utm_content=ad1&gclid=g1&fbclid=f1&msclkid=m1&other=x";
		expect(campaignFromUrl(url)).toEqual({
			name: "spring",
			source: "google",
			medium: "cpc",
			term: "shoes",
			content: "ad1",
			gclid: "g1",
			fbclid: "f1",
			msclkid: "m1",
		});
	});

	it("falls back to the search string, decodes values and ignores empty ones", () => {
		expect(
			campaignFromUrl(undefined, "?utm_source=news%20letter&utm_medium="),
		).toEqual({ source: "news letter" });
	});

	it("returns undefined when there is nothing to read", () => {
		expect(campaignFromUrl("https://shop.example.com/")).toBeUndefined();
		expect(campaignFromUrl("not a url")).toBeUndefined();
		expect(campaignFromUrl(undefined)).toBeUndefined();
	});
});
