import type { Child } from "hono/jsx";
import { ASSET_NAMES } from "../assets.generated";

/** The console's pages, as named in the navigation. */
export type PageName =
	| "overview"
	| "live"
	| "profiles"
	| "destinations"
	| "config";

const NAV: readonly [PageName, string, string][] = [
	["overview", "Overview", "/console"],
	["live", "Live events", "/console/live"],
	["profiles", "Profiles", "/console/profiles"],
	["destinations", "Destinations", "/console/destinations"],
	["config", "Config", "/console/config"],
];

/** What every signed-in page shares. */
export interface LayoutProps {
	page: PageName;
	title: string;
	csrf: string;
	/** Script names from ASSET_NAMES the page needs. */
	scripts?: string[];
	styles?: string[];
	children?: Child;
}

/**
 * The frame of a signed-in page: skip link, navigation, sign-out, main content. No inline
 * script or style anywhere (the Content-Security-Policy forbids both).
 *
 * @example
 * c.html(page(<Layout page="config" title="Config" csrf={session.csrf}>…</Layout>))
 */
export function Layout(props: LayoutProps) {
	return (
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<link rel="icon" href="data:," />
				<meta name="csrf-token" content={props.csrf} />
				<title>{`${props.title} · Conduit console`}</title>
				<link rel="stylesheet" href={`/console/assets/${ASSET_NAMES.css}`} />
				{(props.styles ?? []).map((name) => (
					<link rel="stylesheet" href={`/console/assets/${name}`} />
				))}
				{(props.scripts ?? []).map((name) => (
					<script type="module" src={`/console/assets/${name}`} />
				))}
			</head>
			<body>
				<a class="skip" href="#main">
					Skip to content
				</a>
				<header class="top">
					<span class="brand">Conduit</span>
					<nav aria-label="Console">
						<ul>
							{NAV.map(([name, label, href]) => (
								<li>
									<a
										href={href}
										aria-current={name === props.page ? "page" : undefined}
									>
										{label}
									</a>
								</li>
							))}
						</ul>
					</nav>
					<form method="post" action="/console/sign-out" class="sign-out">
						<input type="hidden" name="_csrf" value={props.csrf} />
						<button type="submit">Sign out</button>
					</form>
				</header>
				<main id="main" tabindex={-1}>
					<h1>{props.title}</h1>
					{props.children}
				</main>
			</body>
		</html>
	);
}

/**
 * A page's HTML text with its doctype.
 *
 * @example
 * return c.html(page(<SignIn />));
 */
export function page(element: unknown): string {
	return `<!doctype html>${String(element)}`;
}
