// What the browser-client checks share: a check that reports, and a standalone sidecar
// started from the built binary.

import { spawn } from 'node:child_process';

/// Throws `what` unless `ok`; prints it when it holds.
export function check(ok, what) {
  if (!ok) throw new Error(what);
  console.log('ok -', what);
}

/// Starts `bin serve --standalone` on a free loopback port with `dataDir`, adds it to
/// `children` (to be killed), and resolves once its output has matched every pattern of
/// `wanted` (name → regex with one group, ending at a line end so no value is cut short) with the groups by name
/// and the `child` process.
export function startSidecar(bin, dataDir, children, wanted) {
  const child = spawn(bin, ['serve', '--standalone', '--listen', '127.0.0.1:0', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
      const found = Object.entries(wanted).map(([name, re]) => [name, re.exec(out)?.[1]]);
      if (found.every(([, v]) => v)) resolve({ ...Object.fromEntries(found), child });
    });
    child.on('exit', (code) => reject(new Error(`sidecar exited with ${code}`)));
  });
}
