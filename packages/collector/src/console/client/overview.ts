/*
 * The overview's chart: events per minute over 24 hours per source, accepted and rejected,
 * drawn with uPlot from the JSON the server put in the page (a data block, not a script).
 */
import uPlot from "uplot";

interface Series {
	sourceId: string;
	/** Minute starts, seconds since the epoch. */
	minutes: number[];
	accepted: number[];
	rejected: number[];
}

const data = document.getElementById("series-data");
const target = document.getElementById("charts");
if (data && target) {
	const series = JSON.parse(data.textContent ?? "[]") as Series[];
	const accepted = getComputedStyle(document.documentElement)
		.getPropertyValue("--good")
		.trim();
	const rejected = getComputedStyle(document.documentElement)
		.getPropertyValue("--bad")
		.trim();
	for (const source of series) {
		const figure = document.createElement("figure");
		const caption = document.createElement("figcaption");
		caption.textContent = `Source ${source.sourceId}: events per minute, last 24 hours`;
		figure.append(caption);
		const chart = document.createElement("div");
		chart.className = "chart";
		chart.setAttribute("role", "img");
		chart.setAttribute(
			"aria-label",
			`${source.sourceId}: ${sum(source.accepted)} accepted and ${sum(source.rejected)} rejected in 24 hours`,
		);
		figure.append(chart);
		target.append(figure);
		new uPlot(
			{
				width: Math.max(240, figure.clientWidth),
				height: 220,
				series: [
					{},
					{ label: "accepted", stroke: accepted || "green", width: 1.5 },
					{ label: "rejected", stroke: rejected || "red", width: 1.5 },
				],
				axes: [{}, { label: "events / min" }],
			},
			[source.minutes, source.accepted, source.rejected],
			chart,
		);
	}
}

function sum(values: number[]): number {
	return values.reduce((a, b) => a + b, 0);
}
