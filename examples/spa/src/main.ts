import { createAnalytics } from "@conduit/sdk";
import { type Match, startRouter } from "./router";
import { setSignedInUser, signedInUser, type User } from "./session";
import "./style.css";
import { sessionBox, view } from "./views";

/*
 * The app's whole analytics wiring: one instance for the page's life, a page view per route
 * change, identify on sign-in and reset on sign-out. The endpoint and write key come from .env
 * (the local collector of `npm run dev` and config/dev.json's "web" source).
 */
const analytics = createAnalytics({
	writeKey: import.meta.env.VITE_CONDUIT_WRITE_KEY,
	endpoint: import.meta.env.VITE_CONDUIT_ENDPOINT,
	debug: import.meta.env.DEV,
});

const ROUTES = [
	{ name: "Home", pattern: "/" },
	{ name: "Product", pattern: "/products/:sku" },
	{ name: "Account", pattern: "/account" },
];

const main = document.querySelector("#view") as HTMLElement;
const header = document.querySelector("#session") as HTMLElement;

let route: Match;
startRouter(ROUTES, "Not Found", (change) => {
	route = change.route;
	render();
	document.title = `${route.name} · Conduit Coffee`;
	// After the address and title changed, since the SDK reads both for context.page. The
	// previous in-app URL is the referrer: document.referrer still names the page before the app.
	const { previousUrl } = change;
	analytics.page(route.name, previousUrl ? { referrer: previousUrl } : {});
});

function render(): void {
	const user = signedInUser();
	main.replaceChildren(view(route, user));
	header.replaceChildren(sessionBox(user, signIn, signOut));
}

function signIn(user: User): void {
	setSignedInUser(user);
	// The stable internal id, with the traits to keep on the profile. The SDK keeps the user id
	// and sends it with every later event; the collector links it to this browser's anonymousId.
	analytics.identify(user.id, { email: user.email, name: user.name });
	analytics.track("Signed In");
	render();
}

function signOut(): void {
	analytics.track("Signed Out");
	// A new anonymousId and no user id: whoever uses this browser next is not this person.
	analytics.reset();
	setSignedInUser(undefined);
	render();
}

// The session outlived the SDK's identity (cookies cleared, another tab reset): say who it is.
analytics.ready(() => {
	const user = signedInUser();
	if (user && analytics.user().userId !== user.id)
		analytics.identify(user.id, { email: user.email, name: user.name });
});
