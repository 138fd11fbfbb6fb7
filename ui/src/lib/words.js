// Names the UI shows; the rules themselves (who may see what, which moves are allowed)
// are the zomes' and the node's, whose refusals the UI shows as they come.

/** Reaches, narrowest first, as the zomes name them. */
export const REACHES = ['private', 'invited', 'local', 'neighborhood', 'municipal', 'bioregional', 'regional', 'commons'];

/** Reaches that belong to a place. */
export const PLACED = ['local', 'neighborhood', 'municipal', 'bioregional', 'regional'];

/** Lifecycle moves the edit screen offers. */
export const MOVES = [
  ['published', 'Publish'],
  ['deprecated', 'Deprecate'],
  ['archived', 'Archive'],
];

export function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function when(micros) {
  return micros ? new Date(Number(micros) / 1000).toLocaleString() : '–';
}

export function short(key) {
  return key ? `${key.slice(0, 10)}…${key.slice(-6)}` : '';
}
