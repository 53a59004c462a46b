// Builds the dashboard into web/dist, which wrangler.jsonc serves as the Worker's static assets.
// `npm run dev:web` serves it with hot reload and forwards the Worker's routes to `npm start`'s Worker.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const worker = process.env.ATRARIUM_WORKER_URL ?? 'http://127.0.0.1:8787';

export default defineConfig({
	root: fileURLToPath(new URL('.', import.meta.url)),
	build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
	server: { host: '127.0.0.1', proxy: { '/api': worker, '/xrpc': worker, '/oauth/client-metadata.json': worker, '/lexicons': worker } },
});
