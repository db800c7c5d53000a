// Vite's `?raw` imports (a file's text), used to load fixtures into tests.
declare module "*?raw" {
	const text: string;
	export default text;
}
