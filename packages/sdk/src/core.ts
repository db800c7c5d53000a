import type { Identity } from "./identity";
import type { Queue } from "./queue";
import type { Reporter } from "./report";
import type { Runtime } from "./runtime";
import type { Sender } from "./sender";
import type { ConsentRules, State } from "./state";

/**
 * What the parts of one instance share, made once by `start` and handed to the tracker, the
 * consent setter and the public API: each takes what it needs from it.
 *
 * @example
 * const core: Core = { _rt, _s, _rules, _queue, _sender, _r, _id, _save, _load, _loaded };
 * const tracker = createTracker(core);
 */
export interface Core {
	_rt: Runtime;
	_s: State;
	_rules: ConsentRules;
	_queue: Queue;
	_sender: Sender;
	_r: Reporter;
	/** A new, strictly increasing ULID. */
	_id: () => string;
	/** Saves the identity (null erases it); see `identitySaver`. */
	_save: (identity: Identity | null) => void;
	/**
	 * Loads the state from storage and replays the snippet's calls, once: start-up leaves it to
	 * idle time, and the first call that needs the state runs it earlier.
	 */
	_load: () => void;
	/** Resolves once `_load` has run. */
	_loaded: Promise<void>;
}
