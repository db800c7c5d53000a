/**
 * The inline snippet, the contract between a page and the script-tag build: it defines
 * `window.conduit` as an array whose methods record `[method, arguments, time, url, title]` (`consent.set` is recorded as `set`), so
 * calls made before the script loads keep their order, time and page. The script replays them,
 * then swaps the array's `push` so a stub kept in a variable still reaches the SDK. Running it
 * twice, or after the script, changes nothing. The README and the example page carry this
 * exact text (a test checks).
 *
 * @example
 * const html = `<script>${SNIPPET}</script><script async src="/conduit.js" data-write-key="wk_…" data-endpoint="https://collect.example.com"></script>`;
 */
export const SNIPPET =
	'!function(w,c){c=w.conduit=w.conduit||[];if(c.push){c.consent=c.consent||{};"page track identify group alias reset flush ready use set".split(" ").map(function(m){(m=="set"?c.consent:c)[m]=function(){c.push([m,[].slice.call(arguments),Date.now(),location.href,document.title])}})}}(window);';
