// Vite's `?raw` imports (test fixtures): the file's text.
declare module "*?raw" {
	const text: string;
	export default text;
}
