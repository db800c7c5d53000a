import { ASSET_NAMES } from "../assets.generated";

/**
 * The sign-in page: one password field for the admin token, posted in the body (never in the
 * URL), with the refusal's reason when there was one.
 *
 * @example
 * c.html(page(<SignInPage error="Wrong admin token" />), 401)
 */
export function SignInPage(props: { error?: string }) {
	return (
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<link rel="icon" href="data:," />
				<title>Sign in · Conduit console</title>
				<link rel="stylesheet" href={`/console/assets/${ASSET_NAMES.css}`} />
			</head>
			<body>
				<main id="main" class="sign-in">
					<h1>Conduit console</h1>
					<form method="post" action="/console/sign-in">
						<label for="token">Admin token</label>
						<input
							id="token"
							name="token"
							type="password"
							autocomplete="current-password"
							required
							aria-describedby={props.error ? "sign-in-error" : undefined}
						/>
						{props.error ? (
							<p id="sign-in-error" class="error" role="alert">
								{props.error}
							</p>
						) : null}
						<button type="submit">Sign in</button>
					</form>
					<p class="hint">
						The Worker's <code>ADMIN_TOKEN</code> secret. A sign-in lasts one
						hour.
					</p>
				</main>
			</body>
		</html>
	);
}
