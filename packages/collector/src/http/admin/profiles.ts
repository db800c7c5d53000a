import { type Context, Hono } from "hono";
import { profileAudiences } from "../../audiences/view";
import { loadConfig } from "../../config/load";
import { ApiError } from "../../errors";
import { deleteProfile } from "../../identity/delete-profile";
import { isolateCache } from "../../identity/deps";
import { erasureStatus } from "../../identity/erasure-status";
import type { Identifier } from "../../identity/identifiers";
import { loadProfile, type ProfileRef } from "../../identity/profile-view";
import { ANONYMOUS_ID, USER_ID } from "../../identity/settings";
import type { AppEnv } from "../env";
import { adminAuth } from "../middleware/admin-auth";

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The profile API, admin only (see {@link adminAuth}), mounted at /v1/profiles:
 *
 * - `GET /v1/profiles/:id` — the profile; an id merged into another answers with the survivor
 *   (`requestedId` says which was asked for). With an `audiences` section in the config,
 *   `computedTraits` also holds the configured computed traits and `audiences` lists the
 *   audiences the profile is in (audiences/view.ts).
 * - `GET /v1/profiles?user_id=…` (or `anonymous_id=`, `email=`, any identifier type) — the
 *   profile holding that identifier. Trait identifiers are matched lower-cased.
 * - `DELETE /v1/profiles/:id` — right to erasure (see deleteProfile); returns what was deleted
 *   and the erasure's status per store (`erasure`).
 * - `GET /v1/profiles/deletions/:deletionId` — the erasure's status per store, until it is
 *   finished and after (see erasureStatus).
 *
 * @example
 * app.route("/v1/profiles", profileRoutes);
 * // curl -H "Authorization: Bearer $ADMIN_TOKEN" "http://localhost:8787/v1/profiles?email=ann@example.com"
 */
export const profileRoutes = new Hono<AppEnv>();

profileRoutes.use(adminAuth());

profileRoutes.get("/", async (c) => answer(c, { identifier: identifierOf(c) }));

profileRoutes.get("/deletions/:deletionId", async (c) => {
	const raw = c.req.param("deletionId");
	const deletionId = Number(raw);
	if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(deletionId))
		throw new ApiError(
			400,
			"invalid_deletion_id",
			"A deletion id is the positive integer `deletionId` a DELETE answered with",
		);
	const erasure = await erasureStatus(c.env.DB, deletionId);
	if (!erasure)
		throw new ApiError(404, "deletion_not_found", "No such deletion");
	return c.json({ success: true, erasure });
});

profileRoutes.get("/:id", async (c) => answer(c, { id: c.req.param("id") }));

profileRoutes.delete("/:id", async (c) => {
	const deleted = await deleteProfile(
		c.env.DB,
		isolateCache(c.env),
		c.req.param("id"),
		new Date(),
	);
	if (!deleted) throw notFound();
	// The erasure is committed: a failing status read must not turn it into an error the client
	// would retry (and get 404 for). GET /v1/profiles/deletions/:id reads it again.
	const erasure = await erasureStatus(c.env.DB, deleted.deletionId).catch(
		(error: unknown) => {
			console.error(
				JSON.stringify({
					msg: "erasure status not read",
					deletionId: deleted.deletionId,
					error: String(error),
				}),
			);
			return null;
		},
	);
	return c.json({ success: true, deleted, erasure });
});

async function answer(c: Context<AppEnv>, ref: ProfileRef) {
	const profile = await loadProfile(c.env.DB, ref, c.env.RECORDS);
	if (!profile) throw notFound();
	const requested =
		"id" in ref && ref.id !== profile.id ? { requestedId: ref.id } : {};
	const audiences = await profileAudiences(
		c.env.DB,
		await loadConfig(c.env),
		profile.id,
		new Date(),
	);
	// Computed trait keys are lower-case with '_' (audiences/schema.ts): they never hide
	// identity's camelCase ones. `lifetimeValue` is the lifetime_value trait under the name
	// the profile API has always given it.
	const lifetimeValue = audiences.computedTraits.lifetime_value;
	const computedTraits = {
		...profile.computedTraits,
		lifetimeValue: typeof lifetimeValue === "number" ? lifetimeValue : 0,
		...audiences.computedTraits,
	};
	return c.json({
		success: true,
		...requested,
		profile: { ...profile, computedTraits, audiences: audiences.audiences },
	});
}

/** The one identifier a lookup names in its query string. */
function identifierOf(c: Context<AppEnv>): Identifier {
	const params = [...new URL(c.req.url).searchParams];
	const [param] = params;
	if (
		params.length !== 1 ||
		!param ||
		!TYPE_NAME.test(param[0]) ||
		!param[1].trim()
	)
		throw new ApiError(
			400,
			"invalid_lookup",
			"Name one identifier, e.g. ?user_id=u1, ?anonymous_id=… or ?email=…",
		);
	const [type, raw] = param;
	const value =
		type === USER_ID || type === ANONYMOUS_ID
			? raw.trim()
			: raw.trim().toLowerCase();
	return { type, value };
}

function notFound() {
	return new ApiError(404, "profile_not_found", "No such profile");
}
