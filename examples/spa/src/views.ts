import { PRODUCTS } from "./catalogue";
import { h } from "./dom";
import type { Match } from "./router";
import { ACCOUNTS, type User } from "./session";

const price = new Intl.NumberFormat("en-GB", {
	style: "currency",
	currency: "EUR",
});

/**
 * The main view of a route, for the signed-in user (if any).
 *
 * @example
 * document.querySelector("main")?.replaceChildren(view(route, signedInUser()));
 */
export function view(route: Match, user: User | undefined): HTMLElement {
	if (route.name === "Home")
		return h(
			"section",
			{},
			h("h1", {}, "Roasted this week"),
			h(
				"ul",
				{ class: "products" },
				...PRODUCTS.map((product) =>
					h(
						"li",
						{},
						h(
							"a",
							{ href: `/products/${encodeURIComponent(product.sku)}` },
							product.name,
						),
						` ${price.format(product.price)}`,
					),
				),
			),
		);
	if (route.name === "Product") {
		const product = PRODUCTS.find((p) => p.sku === route.params.sku);
		if (!product)
			return h("section", {}, h("h1", {}, `No product ${route.params.sku}`));
		return h(
			"section",
			{},
			h("h1", {}, product.name),
			h("p", {}, `${product.category} · ${price.format(product.price)}`),
			h("a", { href: "/" }, "All products"),
		);
	}
	if (route.name === "Account")
		return h(
			"section",
			{},
			h("h1", {}, "Your account"),
			user
				? h("p", { id: "account" }, `${user.name} <${user.email}>`)
				: h("p", { id: "account" }, "Sign in to see your account."),
		);
	return h("section", {}, h("h1", {}, "Page not found"));
}

/**
 * The header's session box: a sign-in form, or who is signed in and a sign-out button.
 *
 * @example
 * document.querySelector("#session")?.replaceChildren(sessionBox(user, signIn, signOut));
 */
export function sessionBox(
	user: User | undefined,
	signIn: (user: User) => void,
	signOut: () => void,
): HTMLElement {
	if (user) {
		const button = h("button", { type: "button" }, "Sign out");
		button.addEventListener("click", signOut);
		return h(
			"div",
			{},
			h("span", { id: "who" }, `Signed in as ${user.name}`),
			button,
		);
	}
	const select = h(
		"select",
		{ name: "account", "aria-label": "Account" },
		...ACCOUNTS.map((account) =>
			h("option", { value: account.id }, account.email),
		),
	) as HTMLSelectElement;
	const form = h(
		"form",
		{},
		select,
		h("button", { type: "submit" }, "Sign in"),
	);
	form.addEventListener("submit", (event) => {
		event.preventDefault();
		const account = ACCOUNTS.find((a) => a.id === select.value);
		if (account) signIn(account);
	});
	return form;
}
