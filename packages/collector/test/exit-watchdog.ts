import type { Reporter, TestModule, TestSpecification } from "vitest/node";

/**
 * How long the run may take to exit once every test file has ended. A normal exit takes a few
 * seconds (the runtimes are disposed of).
 */
const EXIT_GRACE_MS = 10_000;

/**
 * A reporter that ends the run when every test file has ended but the process does not exit.
 * `@cloudflare/vitest-plugin` sometimes leaves a workerd runtime that started beside others
 * alive after the last file, and Vitest then waits for it forever, before printing its summary
 * (cloudflare/workers-sdk#14903). Once the last file has ended, this waits {@link EXIT_GRACE_MS}
 * on a timer that never keeps the process alive by itself; if Vitest has not exited by then, it
 * says so and exits with 1 when any file failed, else 0. A normal run exits first with Vitest's
 * own status, summary and unhandled-error report, and this reporter changes nothing.
 *
 * @example
 * // vitest.config.ts
 * test: { reporters: ["default", "./test/exit-watchdog.ts"] }
 */
export default class ExitWatchdog implements Reporter {
	private expected = 0;
	private ended = 0;
	private failed: string[] = [];

	onTestRunStart(specifications: readonly TestSpecification[]): void {
		this.expected = specifications.length;
	}

	onTestModuleEnd(module: TestModule): void {
		this.ended++;
		if (!module.ok()) this.failed.push(module.relativeModuleId);
		if (this.ended !== this.expected) return;
		setTimeout(() => {
			console.error(
				`${this.ended} of ${this.expected} test files ended, ${this.failed.length} failed${
					this.failed.length > 0 ? ` (${this.failed.join(", ")})` : ""
				}, but the run did not exit within ${EXIT_GRACE_MS / 1000} s (a workerd runtime left running): exiting.`,
			);
			process.exit(this.failed.length > 0 ? 1 : 0);
		}, EXIT_GRACE_MS).unref();
	}
}
