/** A signed-in person, as the app's own backend would describe them. */
export interface User {
	id: string;
	email: string;
	name: string;
}

/**
 * Demo accounts: signing in picks one. In a real app the user comes from your auth; what matters
 * here is that its `id` is the stable, internal user id you pass to `identify`.
 *
 * @example
 * ACCOUNTS[0]?.id // "usr_1001"
 */
export const ACCOUNTS: readonly User[] = [
	{ id: "usr_1001", email: "ada@example.com", name: "Ada Lovelace" },
	{ id: "usr_1002", email: "grace@example.com", name: "Grace Hopper" },
];

const KEY = "conduit-example:user";

/**
 * The signed-in user kept across reloads, or undefined.
 *
 * @example
 * signedInUser()?.name // "Ada Lovelace"
 */
export function signedInUser(): User | undefined {
	const id = sessionStorage.getItem(KEY);
	return ACCOUNTS.find((account) => account.id === id);
}

/**
 * Records who is signed in (`undefined`: nobody).
 *
 * @example
 * setSignedInUser(ACCOUNTS[0]);
 */
export function setSignedInUser(user: User | undefined): void {
	if (user) sessionStorage.setItem(KEY, user.id);
	else sessionStorage.removeItem(KEY);
}
