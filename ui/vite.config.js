import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// One static bundle for both hosts: the node serves it at `/`, and app hosts (Kangaroo,
// p2p Shipyard) serve it from the .webhapp. Relative asset paths work under either.
export default defineConfig({
  base: './',
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
});
