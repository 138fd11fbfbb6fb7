// Loading one piece of content with its manifests, for the watch, edit and share screens.
import { hashBytes } from './holo.js';

/** The content `id` (base64) names, with its manifests; throws words when missing. */
export async function loadContent(media, id) {
  const bytes = hashBytes(id, 'action');
  const view = await media.content(bytes);
  if (!view) throw new Error('This content is not found (it may not have reached this node yet).');
  const manifests = (await Promise.all(view.content.blobs.map((m) => media.manifest(m)))).filter(Boolean);
  return { view, manifests, source: sourceOf(manifests) };
}

/** The manifest to play or fetch: the one whose renditions are listed, else the first. */
export function sourceOf(manifests) {
  return manifests.find((m) => m.manifest.variants?.length) ?? manifests[0] ?? null;
}
