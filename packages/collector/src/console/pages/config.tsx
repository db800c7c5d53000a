import type { Context } from "hono";
import { CONFIG_KEY } from "../../config/load";
import { parseConfig } from "../../config/schema";
import { reservedSecret, secretNames } from "../../config/secret";
import type { ConsoleEnv } from "../env";
import { Layout, page } from "../views/layout";

/**
 * The config page (`/console/config`): the live document from KV, read-only (config stays code:
 * `npm run config -- push` writes it), its validation result and the secrets it names that the
 * Worker does not have.
 *
 * @example
 * consoleRoutes.get("/config", configPage);
 */
export async function configPage(c: Context<ConsoleEnv>) {
	const text = await c.env.CONFIG.get(CONFIG_KEY, "text");
	let document: unknown;
	let parseError: string | undefined;
	try {
		document = text === null ? undefined : JSON.parse(text);
	} catch (error) {
		parseError = `Not JSON: ${String(error)}`;
	}
	const validation =
		text === null
			? { ok: false as const, errors: [`No config in KV key '${CONFIG_KEY}'`] }
			: parseError
				? { ok: false as const, errors: [parseError] }
				: parseConfig(document);
	const secrets = secretNames(document).map((name) => {
		const value = (c.env as unknown as Record<string, unknown>)[name];
		const reserved = reservedSecret(name);
		const state = reserved
			? `refused: ${reserved}`
			: typeof value === "string" && value !== ""
				? "set"
				: "missing";
		return { name, state };
	});
	const missing = secrets.filter((s) => s.state !== "set");
	return c.html(
		page(
			<Layout page="config" title="Config" csrf={c.get("session").csrf}>
				<p class="hint">
					Read-only: the config is code. Change it with{" "}
					<code>npm run config -- push &lt;file&gt;</code>.
				</p>
				<h2>Validation</h2>
				{validation.ok ? (
					<p class="ok" id="config-valid">
						Valid: {validation.config.config.sources.length} sources,{" "}
						{validation.config.config.destinations.length} destinations.
					</p>
				) : (
					<ul class="error" id="config-errors">
						{validation.errors.map((error) => (
							<li>{error}</li>
						))}
					</ul>
				)}
				<h2>Secrets</h2>
				{secrets.length === 0 ? (
					<p>The config names no secret.</p>
				) : (
					<>
						<p class={missing.length > 0 ? "error" : "ok"}>
							{missing.length > 0
								? `${missing.length} of ${secrets.length} secrets missing or refused: set them with \`wrangler secret put NAME\`.`
								: `All ${secrets.length} secrets are set.`}
						</p>
						<table id="secrets">
							<thead>
								<tr>
									<th scope="col">Secret</th>
									<th scope="col">State</th>
								</tr>
							</thead>
							<tbody>
								{secrets.map((s) => (
									<tr>
										<td>
											<code>{s.name}</code>
										</td>
										<td class={s.state === "set" ? "ok" : "error"}>
											{s.state}
										</td>
									</tr>
								))}
							</tbody>
						</table>
					</>
				)}
				<h2>Document</h2>
				<pre tabindex={0} id="config-document">
					{document === undefined
						? (text ?? "(none)")
						: JSON.stringify(document, null, 2)}
				</pre>
			</Layout>,
		),
	);
}
