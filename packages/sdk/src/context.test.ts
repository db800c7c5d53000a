import { expect, it } from "vitest";
import { campaign } from "./context";

it("reads UTM parameters into context.campaign", () => {
	expect(
		campaign("?utm_source=news&utm_medium=email&utm_campaign=spring&x=1"),
	).toEqual({ source: "news", medium: "email", name: "spring" });
	expect(campaign("?utm_term=shoes&utm_content=hero")).toEqual({
		term: "shoes",
		content: "hero",
	});
});

it("returns undefined without UTM parameters", () => {
	expect(campaign("")).toBeUndefined();
	expect(campaign("?q=shoes")).toBeUndefined();
});
