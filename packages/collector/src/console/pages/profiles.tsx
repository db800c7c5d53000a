import { type Context, Hono } from "hono";
import { profileAudiences } from "../../audiences/view";
import { loadConfig } from "../../config/load";
import { deleteProfile } from "../../identity/delete-profile";
import { isolateCache } from "../../identity/deps";
import { erasureStatus } from "../../identity/erasure-status";
import { loadProfile, type ProfileRef } from "../../identity/profile-view";
import { ANONYMOUS_ID, USER_ID } from "../../identity/settings";
import type { ConsoleEnv } from "../env";
import { Layout, page } from "../views/layout";
import {
	EraseConfirmation,
	ErasedView,
	ProfileDetails,
} from "../views/profile";

/** The lookups the search form offers; any other trait identifier can be typed as its name. */
const LOOKUPS = [
	["email", "Email"],
	[USER_ID, "User id"],
	[ANONYMOUS_ID, "Anonymous id"],
	["id", "Profile id"],
] as const;

/**
 * The profile pages: search (`/console/profiles?type=email&value=…` or `?id=`), one profile
 * with its identities, merge history, traits, consent and latest events, and erasure
 * (`/console/profiles/:id/erase`: a confirmation that names what will be deleted, then the
 * erasure itself, the same as `DELETE /v1/profiles/:id`).
 *
 * @example
 * consoleRoutes.route("/profiles", profileRoutes);
 */
export const profileRoutes = new Hono<ConsoleEnv>();

profileRoutes.get("/", async (c) => {
	const id = c.req.query("id")?.trim();
	const type = c.req.query("type")?.trim() ?? "email";
	const raw = c.req.query("value")?.trim() ?? "";
	const ref: ProfileRef | undefined = id
		? { id }
		: raw
			? type === "id"
				? { id: raw }
				: {
						identifier: {
							type,
							value:
								type === USER_ID || type === ANONYMOUS_ID
									? raw
									: raw.toLowerCase(),
						},
					}
			: undefined;
	const profile = ref
		? await loadProfile(c.env.DB, ref, c.env.RECORDS)
		: undefined;
	const audiences = profile
		? await profileAudiences(
				c.env.DB,
				await loadConfig(c.env),
				profile.id,
				new Date(),
			)
		: undefined;
	return c.html(
		page(
			<Layout page="profiles" title="Profiles" csrf={c.get("session").csrf}>
				<form class="inline" method="get" action="/console/profiles">
					<div>
						<label for="lookup-type">Find by</label>
						<select id="lookup-type" name="type">
							{LOOKUPS.map(([value, label]) => (
								<option value={value} selected={value === (id ? "id" : type)}>
									{label}
								</option>
							))}
						</select>
					</div>
					<div>
						<label for="lookup-value">Value</label>
						<input
							id="lookup-value"
							name="value"
							type="search"
							required
							value={id ?? raw}
						/>
					</div>
					<button type="submit">Find</button>
				</form>
				{ref && !profile ? (
					<p id="no-profile" role="status">
						No profile holds that identifier.
					</p>
				) : null}
				{profile ? (
					<ProfileDetails profile={profile} audiences={audiences} />
				) : null}
			</Layout>,
		),
	);
});

profileRoutes.get("/:id/erase", async (c) => {
	const profile = await loadProfile(
		c.env.DB,
		{ id: c.req.param("id") },
		c.env.RECORDS,
	);
	if (!profile) return notFound(c);
	const config = await loadConfig(c.env);
	const forwarding = config.config.destinations
		.filter((d) => d.enabled)
		.map((d) => d.id);
	return c.html(
		page(
			<Layout
				page="profiles"
				title="Erase a profile"
				csrf={c.get("session").csrf}
			>
				<EraseConfirmation
					profile={profile}
					csrf={c.get("session").csrf}
					destinations={forwarding}
				/>
			</Layout>,
		),
	);
});

profileRoutes.post("/:id/erase", async (c) => {
	const deleted = await deleteProfile(
		c.env.DB,
		isolateCache(c.env),
		c.req.param("id"),
		new Date(),
	);
	if (!deleted) return notFound(c);
	const erasure = await erasureStatus(c.env.DB, deleted.deletionId)
		.then((e) => e ?? null)
		.catch(() => null);
	return c.html(
		page(
			<Layout
				page="profiles"
				title="Profile erased"
				csrf={c.get("session").csrf}
			>
				<ErasedView deleted={deleted} erasure={erasure} />
			</Layout>,
		),
	);
});

function notFound(c: Context<ConsoleEnv>) {
	return c.html(
		page(
			<Layout
				page="profiles"
				title="No such profile"
				csrf={c.get("session").csrf}
			>
				<p>
					No profile has that id. <a href="/console/profiles">Search again</a>.
				</p>
			</Layout>,
		),
		404,
	);
}
