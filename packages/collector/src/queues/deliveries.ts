import { loadConfig } from "../config/load";
import { disabledDestinations } from "../db/destination-state";
import { deliverGroup } from "../delivery/group";
import type { DeliveryMessage } from "../delivery/messages";
import { attemptsOf, retryBatchLater, retryDelaySeconds } from "./retry";

/**
 * The DELIVERIES queue consumer. Stage rule — isolated fan-out: messages are grouped by
 * destination and each group runs on its own (delivery/group.ts), concurrently, with its own error
 * handling, so one destination failing or slow never fails, retries or re-sends another's
 * messages. Each message is then settled by what happened to its batch: events to retry → the
 * message is retried after the longest delay they need (next time only those events are sent:
 * the log has a failure row for each); else it is acked (events held back for ordering went
 * into a batch and message of their own: a hold is not a failed attempt).
 *
 * @example
 * export default { queue: (batch, env) => consumeDeliveries(batch, env) };
 */
export async function consumeDeliveries(
	batch: MessageBatch<DeliveryMessage>,
	env: Env,
	now: () => number = Date.now,
): Promise<void> {
	let setup: [Awaited<ReturnType<typeof loadConfig>>, Set<string>];
	try {
		setup = await Promise.all([loadConfig(env), disabledDestinations(env.DB)]);
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "delivery batch cannot start; retrying",
				error: String(error),
			}),
		);
		retryBatchLater(batch);
		return;
	}
	const [config, switchedOff] = setup;
	const groups = new Map<string, Message<DeliveryMessage>[]>();
	for (const message of batch.messages)
		groups.set(message.body.destinationId, [
			...(groups.get(message.body.destinationId) ?? []),
			message,
		]);
	await Promise.all(
		[...groups].map(async ([destinationId, messages]) => {
			try {
				const destination = config.destinationsById.get(destinationId);
				const { actions } = await deliverGroup(
					env,
					destinationId,
					destination,
					switchedOff.has(destinationId),
					messages,
					now,
				);
				for (const message of messages) {
					const action = actions.get(message);
					if (action && "retryInSeconds" in action)
						message.retry({ delaySeconds: action.retryInSeconds });
					else message.ack();
				}
			} catch (error) {
				console.error(
					JSON.stringify({
						msg: "delivery group failed; retrying",
						destinationId,
						error: String(error),
					}),
				);
				for (const message of messages)
					message.retry({
						delaySeconds: retryDelaySeconds(attemptsOf(messages)),
					});
			}
		}),
	);
}
