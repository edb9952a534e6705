// Builds Studio into dist/, which the wolfe binary embeds (host/src/api/studio.rs).
// `npm run dev` serves it with hot reload and forwards the API to a local
// `wolfe serve` on :8080.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const api = process.env.WOLFE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    // The binary embeds every file: no source maps, no inlined assets
    // (the Content-Security-Policy allows only same-origin files).
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: { "/v1": api, "/healthz": api },
  },
});
