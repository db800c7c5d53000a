import { describe, expect, it } from "vitest";
import type { ProfileView } from "../../identity/profile-view";
import { ProfileDetails } from "./profile";

const profile = {
	id: "prof_1",
	createdAt: "2026-12-01T10:00:00.000Z",
	updatedAt: "2026-12-01T11:00:00.000Z",
	identities: [
		{ type: "user_id", value: "u1", createdAt: "2026-12-01T10:00:00.000Z" },
	],
	traits: { plan: "pro" },
	computedTraits: {
		firstSeen: "2026-12-01T10:00:00.000Z",
		lastSeen: "2026-12-01T11:00:00.000Z",
		lifetimeValue: 130,
		eventCounts: { track: 3 },
	},
	merges: [],
	refusedMerges: [],
	groups: [],
	events: [],
} as ProfileView;

describe("the console's profile view", () => {
	it("shows the audiences the profile is in and its configured computed traits", () => {
		const html = String(
			<ProfileDetails
				profile={profile}
				audiences={{
					computedTraits: { lifetime_value: 130, last_category: null },
					audiences: [
						{
							key: "high_value",
							name: "High value",
							enteredAt: "2026-12-01T11:00:00.000Z",
						},
					],
				}}
			/>,
		);
		expect(html).toContain('id="audiences-heading"');
		expect(html).toContain(
			"High value (<code>high_value</code>), since 2026-12-01T11:00:00.000Z",
		);
		expect(html).toContain("<dt>lifetime_value</dt><dd>130</dd>");
		expect(html).toContain("<dt>last_category</dt><dd>—</dd>");
	});

	it("shows no audiences card when the config defines none", () => {
		expect(String(<ProfileDetails profile={profile} />)).not.toContain(
			"audiences-heading",
		);
	});
});
