// The shop's own code: it only ever talks to `conduit`, whether or not conduit.js has loaded yet.
const status = document.getElementById("status");
const say = (text) => {
	status.textContent = text;
};

for (const button of document.querySelectorAll("[data-sku]")) {
	button.addEventListener("click", () => {
		const { sku, name, price } = button.dataset;
		conduit.track("Product Added", {
			sku,
			name,
			price: Number(price),
			currency: "EUR",
		});
		say(`${name} added to the cart`);
	});
}

document.getElementById("signin").addEventListener("submit", (event) => {
	event.preventDefault();
	const email = new FormData(event.target).get("email");
	conduit.identify(`user-${email}`, { email });
	say(`Signed in as ${email}`);
});

const banner = document.getElementById("consent");
document.getElementById("accept").addEventListener("click", () => {
	conduit.consent.set({ analytics: true, marketing: false });
	banner.hidden = true;
	say("Thanks! Analytics is on.");
});
document.getElementById("decline").addEventListener("click", () => {
	conduit.consent.set({ analytics: false, marketing: false });
	banner.hidden = true;
	say("Analytics is off: nothing is stored and only your choice is sent.");
});
