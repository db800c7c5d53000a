import type { ProfileAudiences } from "../../audiences/view";
import type { Deletion } from "../../identity/delete-profile";
import type { ErasureStatus } from "../../identity/erasure-status";
import type { ProfileView } from "../../identity/profile-view";

function Json(props: { value: unknown; label: string }) {
	return (
		<pre tabindex={0} title={props.label}>
			{JSON.stringify(props.value, null, 2)}
		</pre>
	);
}

/** The latest consent the profile's events carried (newest event first). */
function latestConsent(profile: ProfileView): unknown {
	for (const event of profile.events) {
		const consent = (event.payload as { context?: { consent?: unknown } })
			?.context?.consent;
		if (consent !== undefined) return consent;
	}
	return undefined;
}

/**
 * One profile: identities, traits, computed traits, consent, merge history, groups and its
 * latest events, with the way to erase it; given its audiences, every computed trait (the
 * built-in lifetime value and the configured ones) and the audiences it is in.
 *
 * @example
 * <ProfileDetails profile={await loadProfile(env.DB, { id })} audiences={await profileAudiences(env.DB, config, id, new Date())} />
 */
export function ProfileDetails(props: {
	profile: ProfileView;
	audiences?: ProfileAudiences | undefined;
}) {
	const { profile, audiences } = props;
	const consent = latestConsent(profile);
	return (
		<article id="profile" aria-labelledby="profile-heading">
			<h2 id="profile-heading">
				Profile <code>{profile.id}</code>
			</h2>
			<p class="muted">
				Created {profile.createdAt}, updated {profile.updatedAt}.
			</p>
			<div class="cards">
				<section class="card" aria-labelledby="identities-heading">
					<h3 id="identities-heading">Identities</h3>
					<table id="identities">
						<thead>
							<tr>
								<th scope="col">Type</th>
								<th scope="col">Value</th>
							</tr>
						</thead>
						<tbody>
							{profile.identities.map((i) => (
								<tr>
									<td class="name">{i.type}</td>
									<td>{i.value}</td>
								</tr>
							))}
						</tbody>
					</table>
				</section>
				<section class="card" aria-labelledby="computed-heading">
					<h3 id="computed-heading">Computed traits</h3>
					<dl>
						<dt>First seen</dt>
						<dd>{profile.computedTraits.firstSeen ?? "—"}</dd>
						<dt>Last seen</dt>
						<dd>{profile.computedTraits.lastSeen ?? "—"}</dd>
						<dt>Events</dt>
						<dd>
							{Object.entries(profile.computedTraits.eventCounts)
								.map(([type, n]) => `${type} ${n}`)
								.join(", ") || "—"}
						</dd>
					</dl>
					{audiences ? (
						<dl id="trait-values">
							{Object.entries(audiences.computedTraits).map(([key, value]) => (
								<>
									<dt>{key}</dt>
									<dd>{value === null ? "—" : String(value)}</dd>
								</>
							))}
						</dl>
					) : null}
				</section>
				{audiences ? (
					<section class="card" aria-labelledby="audiences-heading">
						<h3 id="audiences-heading">Audiences</h3>
						{audiences.audiences.length === 0 ? (
							<p class="muted">In no audience.</p>
						) : (
							<ul id="audiences">
								{audiences.audiences.map((a) => (
									<li>
										{a.name} (<code>{a.key}</code>), since {a.enteredAt}
									</li>
								))}
							</ul>
						)}
					</section>
				) : null}
				<section class="card" aria-labelledby="consent-heading">
					<h3 id="consent-heading">Consent</h3>
					{consent === undefined ? (
						<p class="muted">No event carried consent.</p>
					) : (
						<Json value={consent} label="Latest consent" />
					)}
				</section>
			</div>
			<h3>Traits</h3>
			<Json value={profile.traits} label="Traits" />
			<h3>Merge history</h3>
			{profile.merges.length === 0 ? (
				<p class="muted">No profile was merged into this one.</p>
			) : (
				<table id="merges">
					<thead>
						<tr>
							<th scope="col">Merged at</th>
							<th scope="col">Absorbed profile</th>
							<th scope="col">Into</th>
							<th scope="col">By event</th>
						</tr>
					</thead>
					<tbody>
						{profile.merges.map((m) => (
							<tr>
								<td>{m.mergedAt}</td>
								<td>
									<code>{m.absorbedId}</code>
								</td>
								<td>
									<code>{m.survivorId}</code>
								</td>
								<td>
									{m.sourceId} / {m.messageId}
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			{profile.refusedMerges.length > 0 ? (
				<>
					<h3>Refused merges</h3>
					<Json value={profile.refusedMerges} label="Refused merges" />
				</>
			) : null}
			{profile.groups.length > 0 ? (
				<>
					<h3>Groups</h3>
					<Json value={profile.groups} label="Groups" />
				</>
			) : null}
			<h3>Latest events</h3>
			<div class="table-wrap">
				<table id="profile-events">
					<thead>
						<tr>
							<th scope="col">Timestamp</th>
							<th scope="col">Source</th>
							<th scope="col">Type</th>
							<th scope="col">Name</th>
						</tr>
					</thead>
					<tbody>
						{profile.events.map((e) => {
							const payload = e.payload as { event?: string; name?: string };
							return (
								<tr>
									<td>{e.timestamp}</td>
									<td>{e.sourceId}</td>
									<td>{e.type}</td>
									<td>{payload?.event ?? payload?.name ?? ""}</td>
								</tr>
							);
						})}
					</tbody>
				</table>
			</div>
			<p>
				<a
					class="danger"
					href={`/console/profiles/${encodeURIComponent(profile.id)}/erase`}
				>
					Erase this profile…
				</a>
			</p>
		</article>
	);
}

/**
 * The erasure's confirmation: names the profile, every identifier, the merged profiles, the
 * counts of traits and events, and the destinations the deletion is forwarded to, before the
 * button that erases.
 *
 * @example
 * <EraseConfirmation profile={profile} csrf={session.csrf} destinations={["hooks"]} />
 */
export function EraseConfirmation(props: {
	profile: ProfileView;
	csrf: string;
	destinations: string[];
}) {
	const { profile } = props;
	const absorbed = profile.merges.map((m) => m.absorbedId);
	const events = Object.values(profile.computedTraits.eventCounts).reduce(
		(a, b) => a + b,
		0,
	);
	return (
		<section aria-labelledby="erase-heading" id="erase-confirmation">
			<h2 id="erase-heading">
				Erase profile <code>{profile.id}</code>?
			</h2>
			<p>This cannot be undone. It deletes at once:</p>
			<ul>
				<li>
					the profile <code>{profile.id}</code>
					{absorbed.length > 0
						? ` and the ${absorbed.length} profiles merged into it (${absorbed.join(", ")})`
						: ""}
					;
				</li>
				<li>
					its {profile.identities.length} identifiers:{" "}
					{profile.identities.map((i) => `${i.type} ${i.value}`).join(", ")} —
					and suppresses them, so new events carrying them are dropped;
				</li>
				<li>
					its {Object.keys(profile.traits).length} traits, computed traits,
					group memberships and merge history;
				</li>
				<li>
					its stored events ({events} counted), their delivery-log rows
					(cancelling what is pending) and parked rows, and the archive objects
					that hold them (rewritten by the next minute's cron).
				</li>
			</ul>
			<p>
				The deletion is forwarded to{" "}
				{props.destinations.length > 0
					? `the destinations that can delete among: ${props.destinations.join(", ")}`
					: "no destination (none is enabled)"}
				.
			</p>
			<form
				method="post"
				action={`/console/profiles/${encodeURIComponent(profile.id)}/erase`}
			>
				<input type="hidden" name="_csrf" value={props.csrf} />
				<button type="submit" class="danger">
					Erase {profile.id} and everything above
				</button>{" "}
				<a href={`/console/profiles?id=${encodeURIComponent(profile.id)}`}>
					Cancel
				</a>
			</form>
		</section>
	);
}

/**
 * What an erasure deleted, and its progress per store.
 *
 * @example
 * <ErasedView deleted={deleted} erasure={await erasureStatus(env.DB, deleted.deletionId)} />
 */
export function ErasedView(props: {
	deleted: Deletion;
	erasure: ErasureStatus | null;
}) {
	const { deleted } = props;
	return (
		<section id="erased" role="status">
			<p class="ok">
				Profile <code>{deleted.profileId}</code> is erased:{" "}
				{deleted.identities.length} identifiers suppressed, {deleted.events}{" "}
				stored events deleted (deletion {deleted.deletionId}).
			</p>
			<h2>Erasure progress</h2>
			<pre tabindex={0}>
				{JSON.stringify(props.erasure ?? deleted.removed, null, 2)}
			</pre>
			<p>
				<a href="/console/profiles">Back to profiles</a>
			</p>
		</section>
	);
}
