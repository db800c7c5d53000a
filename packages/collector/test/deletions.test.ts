import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forwardDeletions } from "../src/delivery/deletions";
import {
	batchesOf,
	forwardingOf,
	received,
	tenant,
	testConfig,
	vendorUrl,
	waitFor,
} from "./delivery-helpers";
import { useConfig } from "./helpers";
import { TEST_PUBLIC } from "./vendors/secrets";

/** An amplitude destination that forwards deletions, on the given vendor-server tenant. */
function amplitudeWithDeletion(key: string) {
	return {
		id: `amp-${key}`,
		type: "amplitude",
		settings: {
			apiKey: { secret: "AMPLITUDE_API_KEY" },
			endpoint: vendorUrl("amplitude", key),
			deletion: {
				secretKey: { secret: "AMPLITUDE_SECRET_KEY" },
				endpoint: vendorUrl("amplitude", key),
			},
		},
	};
}

describe("profile deletions", () => {
	it("are forwarded to every destination with deletion settings, once each, and not to others", async () => {
		const hook = tenant();
		const seg = tenant();
		const amp = tenant();
		const mp = tenant();
		const ph = tenant();
		await useConfig(
			testConfig([
				{
					id: `hook-${hook}`,
					type: "webhook",
					settings: {
						url: `${vendorUrl("webhook", hook)}/in`,
						secrets: [{ secret: "WEBHOOK_SECRET" }],
					},
				},
				{
					id: `seg-${seg}`,
					type: "segment",
					settings: {
						writeKey: { secret: "SEGMENT_WRITE_KEY" },
						endpoint: vendorUrl("segment", seg),
						deletion: {
							token: { secret: "SEGMENT_API_TOKEN" },
							endpoint: vendorUrl("segment", seg),
						},
					},
				},
				amplitudeWithDeletion(amp),
				{
					id: `mp-${mp}`,
					type: "mixpanel",
					settings: {
						projectToken: TEST_PUBLIC.mixpanelProjectToken,
						credentials: { secret: { secret: "MIXPANEL_SECRET" } },
						endpoint: vendorUrl("mixpanel", mp),
						deletion: {
							token: { secret: "MIXPANEL_GDPR_TOKEN" },
							endpoint: vendorUrl("mixpanel", mp),
						},
					},
				},
				{
					id: `ph-${hook}`,
					type: "posthog",
					settings: { apiKey: "phc_x", endpoint: vendorUrl("posthog", hook) },
				},
				{
					id: `phd-${ph}`,
					type: "posthog",
					settings: {
						apiKey: TEST_PUBLIC.posthogApiKey,
						endpoint: vendorUrl("posthog", ph),
						deletion: {
							personalApiKey: { secret: "POSTHOG_PERSONAL_API_KEY" },
							projectId: TEST_PUBLIC.posthogProjectId,
							endpoint: vendorUrl("posthog", ph),
						},
					},
				},
			]),
		);
		const identities = [
			{ type: "anonymous_id", value: "a-1" },
			{ type: "user_id", value: `u-${hook}` },
		];
		const { meta } = await env.DB.prepare(
			"INSERT INTO profile_deletions (profile_id, identities, requested_at) VALUES (?1, ?2, ?3)",
		)
			.bind(`p-${hook}`, JSON.stringify(identities), "2026-11-24T09:00:00.000Z")
			.run();
		const deletionId = meta.last_row_id;

		const { queued } = await forwardDeletions(env, new Date());
		expect(queued).toMatchObject({
			[`hook-${hook}`]: 1,
			[`seg-${seg}`]: 1,
			[`amp-${amp}`]: 1,
			[`mp-${mp}`]: 1,
			[`phd-${ph}`]: 1,
		});
		expect(queued).not.toHaveProperty(`ph-${hook}`);
		await waitFor(
			async () =>
				(await forwardingOf(`hook-${hook}`))[0]?.status === "delivered" &&
				(await forwardingOf(`seg-${seg}`))[0]?.status === "delivered" &&
				(await forwardingOf(`amp-${amp}`))[0]?.status === "delivered" &&
				(await forwardingOf(`mp-${mp}`))[0]?.status === "delivered" &&
				(await forwardingOf(`phd-${ph}`))[0]?.status === "delivered",
		);

		const [hookRequest] = await received("webhook", hook);
		expect(hookRequest?.violations).toEqual([]);
		expect(hookRequest?.body).toMatchObject({
			type: "profile.deleted",
			data: { profileId: `p-${hook}`, identities },
		});
		const [segRequest] = await received("segment", seg);
		expect(segRequest?.url).toBe("/regulations");
		expect(segRequest?.body).toMatchObject({
			subjectType: "USER_ID",
			subjectIds: [`u-${hook}`],
		});
		const ampRequests = await received("amplitude", amp);
		expect(ampRequests).toHaveLength(1);
		expect(ampRequests[0]?.url).toBe("/api/2/deletions/users");
		expect(ampRequests[0]?.violations).toEqual([]);
		expect(ampRequests[0]?.body).toEqual({
			user_ids: [`u-${hook}`],
			requester: "Conduit profile deletion",
			ignore_invalid_ids: true,
		});
		const mpRequests = await received("mixpanel", mp);
		expect(mpRequests).toHaveLength(1);
		expect(mpRequests[0]?.url).toBe(
			`/api/app/data-deletions/v3.0/?token=${TEST_PUBLIC.mixpanelProjectToken}`,
		);
		expect(mpRequests[0]?.violations).toEqual([]);
		// Events went out with the anonymousId as distinct_id before the userId was known.
		expect(mpRequests[0]?.body).toEqual({
			distinct_ids: ["a-1", `u-${hook}`],
			compliance_type: "GDPR",
		});
		const phRequests = await received("posthog", ph);
		expect(phRequests).toHaveLength(1);
		expect(phRequests[0]?.url).toBe(
			`/api/projects/${TEST_PUBLIC.posthogProjectId}/persons/bulk_delete/`,
		);
		expect(phRequests[0]?.violations).toEqual([]);
		expect(phRequests[0]?.body).toEqual({
			distinct_ids: ["a-1", `u-${hook}`],
			delete_events: true,
			delete_recordings: true,
		});
		expect((await forwardingOf(`hook-${hook}`))[0]?.deletion_id).toBe(
			deletionId,
		);
		// Done, the batch keeps no copy of the identifiers.
		expect((await batchesOf(`hook-${hook}`))[0]).toMatchObject({
			batch_key: `deletion:${deletionId}:hook-${hook}`,
			kind: "deletion",
			status: "done",
			body: null,
		});

		// The next run finds nothing new to send for these destinations.
		const again = await forwardDeletions(env, new Date());
		expect(again.queued).not.toHaveProperty(`hook-${hook}`);
		expect(again.queued).not.toHaveProperty(`seg-${seg}`);
		expect(again.queued).not.toHaveProperty(`amp-${amp}`);
		expect(again.queued).not.toHaveProperty(`mp-${mp}`);
		expect(again.queued).not.toHaveProperty(`phd-${ph}`);
	});

	it("to Amplitude are dropped, with the reason logged, for a profile without a userId", async () => {
		const amp = tenant();
		await useConfig(testConfig([amplitudeWithDeletion(amp)]));
		const { meta } = await env.DB.prepare(
			"INSERT INTO profile_deletions (profile_id, identities, requested_at) VALUES (?1, ?2, ?3)",
		)
			.bind(
				`p-${amp}`,
				JSON.stringify([{ type: "anonymous_id", value: `a-${amp}` }]),
				"2026-11-24T09:00:00.000Z",
			)
			.run();
		const messageId = `deletion:${meta.last_row_id}`;

		const { queued } = await forwardDeletions(env, new Date());
		expect(queued[`amp-${amp}`]).toBeGreaterThanOrEqual(1);
		const row = await waitFor(async () => {
			const found = (await forwardingOf(`amp-${amp}`)).find(
				(r) => `deletion:${r.deletion_id}` === messageId,
			);
			return found && found.status !== "pending" ? found : undefined;
		});
		expect(row.status).toBe("dropped");
		expect(row.last_error).toMatch(/no userId/);
		const sent = await received("amplitude", amp);
		expect(sent.some((r) => JSON.stringify(r.body).includes(`a-${amp}`))).toBe(
			false,
		);
	});
});
