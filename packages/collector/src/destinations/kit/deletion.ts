import type { WireObject } from "@conduit/protocol";
import type { ProfileDeletion, SendContext, Verdict } from "../types";
import { call, verdictOf } from "./http";

/**
 * The distinct values of a deleted profile's identities of the given types, in order.
 *
 * @example
 * identityValues(deletion, ["user_id"]) // ["u-1"]
 */
export function identityValues(
	deletion: ProfileDeletion,
	types: readonly string[],
): string[] {
	const values = deletion.identities
		.filter((identity) => types.includes(identity.type))
		.map((identity) => identity.value);
	return [...new Set(values)];
}

/** Which identities a vendor deletes by, how many a request takes, and why none is a drop. */
export interface DeleteBy {
	types: readonly string[];
	perRequest: number;
	/** The `dropped` verdict's error when the profile has no identity of those types. */
	none: string;
}

/**
 * A deletion's verdict: `dropped` (with `by.none`) when the profile has no identity of the
 * types the vendor deletes by, else what sending those ids in parts earns.
 *
 * @example
 * await deleteByIds(deletion, { types: ["user_id"], perRequest: 100, none: "no userId" },
 *   (part) => postDeletion(ctx, url, auth, { user_ids: part }))
 */
export function deleteByIds(
	deletion: ProfileDeletion,
	by: DeleteBy,
	send: (part: string[]) => Promise<Verdict>,
): Promise<Verdict> {
	const ids = identityValues(deletion, by.types);
	if (ids.length === 0)
		return Promise.resolve({ outcome: "dropped", error: by.none });
	return inParts(ids, by.perRequest, send);
}

/**
 * Sends ids in parts of at most `perRequest`, one request each, in order, and stops at the first
 * part that is not ok: its verdict is the deletion's. The retry that follows resends every part;
 * asking a vendor again to delete the same users is harmless.
 *
 * @example
 * await inParts(userIds, 100, (part) => post(part)) // { outcome: "ok", status: 200 }
 */
export async function inParts(
	ids: readonly string[],
	perRequest: number,
	send: (part: string[]) => Promise<Verdict>,
): Promise<Verdict> {
	let verdict: Verdict = { outcome: "ok" };
	for (let start = 0; start < ids.length; start += perRequest) {
		verdict = await send(ids.slice(start, start + perRequest));
		if (verdict.outcome !== "ok") return verdict;
	}
	return verdict;
}

/**
 * POSTs a JSON body to a vendor's deletion API and returns the verdict its answer earns.
 *
 * @example
 * await postDeletion(ctx, url, `Bearer ${token}`, { subjectIds: ["u-1"] }) // { outcome: "ok", … }
 */
export async function postDeletion(
	ctx: Pick<SendContext<unknown>, "fetch" | "now">,
	url: string,
	authorization: string,
	body: WireObject,
): Promise<Verdict> {
	const answer = await call(ctx, url, {
		method: "POST",
		headers: { authorization, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
	return verdictOf(answer, ctx.now());
}
