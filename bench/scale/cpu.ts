import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on Linux. */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (ms, user + system) used so far by every `workerd` process under `root` (the pid of
 * the `wrangler dev` we started), read from /proc; `undefined` where /proc is not there. Only
 * descendants are counted, so other Workers running on the machine do not add to the figure.
 * workerd runs the Worker and wrangler's local D1, R2 and Queues emulators in one process:
 * the figure includes their work, which on Cloudflare is not billed as Worker CPU.
 *
 * @example
 * const before = workerdCpuMs(dev.pid); … const used = workerdCpuMs(dev.pid)! - before!;
 */
export function workerdCpuMs(root: number): number | undefined {
	let entries: string[];
	try {
		entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
	} catch {
		return undefined;
	}
	const stats = new Map<number, { parent: number; comm: string; ms: number }>();
	for (const pid of entries) {
		try {
			const text = readFileSync(`/proc/${pid}/stat`, "utf8");
			const close = text.lastIndexOf(")");
			const comm = text.slice(text.indexOf("(") + 1, close);
			// After "(comm) ": state [0], ppid [1], utime [11], stime [12] (proc(5)).
			const fields = text.slice(close + 2).split(" ");
			stats.set(Number(pid), {
				parent: Number(fields[1]),
				comm,
				ms:
					((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
			});
		} catch {
			// The process ended between the listing and the read.
		}
	}
	let total = 0;
	for (const [pid, stat] of stats) {
		if (stat.comm !== "workerd") continue;
		for (let up = stats.get(pid)?.parent; up; up = stats.get(up)?.parent)
			if (up === root) {
				total += stat.ms;
				break;
			}
	}
	return total;
}
