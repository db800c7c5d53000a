/**
 * D1 errors that mean "another resolver changed the graph since this one read it" — the write
 * batch was rolled back and planning again from a fresh read will succeed. D1 reports SQLite
 * constraint failures by message only, so these are matched on their text.
 */
const CONFLICTS: readonly RegExp[] = [
	// An identifier this plan saw as new was attached by someone else (identities' primary key).
	/UNIQUE constraint failed: identities\./,
	// A profile this plan relied on was merged, deleted or changed its identities (resolution_guard).
	/CHECK constraint failed: profiles_unchanged/,
];

/**
 * Whether a failed write batch lost a race and should be planned again.
 *
 * @example
 * isConflict(new Error("D1_ERROR: UNIQUE constraint failed: identities.type, identities.value")) // true
 * isConflict(new Error("D1_ERROR: no such table: profiles")) // false
 */
export function isConflict(error: unknown): boolean {
	const message = error instanceof Error ? error.message : String(error);
	return CONFLICTS.some((pattern) => pattern.test(message));
}
