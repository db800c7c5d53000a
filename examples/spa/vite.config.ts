import { defineConfig } from "vite";

// config/dev.json allows the "web" source from these ports: the dev server and `vite preview`.
export default defineConfig({
	server: { host: "localhost", port: 5173, strictPort: true },
	preview: { host: "localhost", port: 4173, strictPort: true },
});
