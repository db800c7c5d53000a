type Child = Node | string;

/**
 * Creates an element with attributes and children; text is always set as text, never parsed as
 * HTML, so values from the URL cannot inject markup.
 *
 * @example
 * h("a", { href: "/products/ESP-250" }, "Espresso beans")
 */
export function h(
	tag: string,
	attributes: Record<string, string> = {},
	...children: Child[]
): HTMLElement {
	const element = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes))
		element.setAttribute(name, value);
	element.append(...children);
	return element;
}
