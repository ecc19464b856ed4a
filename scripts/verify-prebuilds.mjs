#!/usr/bin/env node
// Checks prebuilds/ before a pack or publish: every expected binary is there, is an ELF shared
// object for the CPU its folder names, and links the libc its file name names (a glibc binary
// labelled .musl.node would install fine and then fail to load on Alpine).
//
//   node scripts/verify-prebuilds.mjs [dir]            the binary this machine builds must be there
//   node scripts/verify-prebuilds.mjs --release [dir]  every binary the release ships must be there,
//                                                      glibc ones needing no glibc newer than 2.31
//
// Exits 1 listing every problem; unexpected files in prebuilds/ are problems too (a stale binary
// from an older naming scheme would ship and might be the one node-gyp-build picks).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join, resolve } from 'node:path';

/** What the release ships: `prebuilds/<platform>-<arch>/shm-queue.<libc>.node`. Keep in step with release.yml. */
export const RELEASE_TARGETS = [
  { platform: 'linux', arch: 'x64', libc: 'glibc' },
  { platform: 'linux', arch: 'x64', libc: 'musl' },
  { platform: 'linux', arch: 'arm64', libc: 'glibc' },
  { platform: 'linux', arch: 'arm64', libc: 'musl' },
];

/**
 * The newest glibc a released glibc binary may need: release.yml builds them on Debian 11
 * (glibc 2.31); a binary built on a newer system would fail to load on older ones.
 */
export const RELEASE_GLIBC_FLOOR = '2.31';

/** ELF e_machine values of the CPUs we ship. */
const ELF_MACHINE = { x64: 0x3e, arm64: 0xb7 };

export function prebuildPath(target) {
  return join('prebuilds', `${target.platform}-${target.arch}`, `shm-queue.${target.libc}.node`);
}

/** The target this machine produces with `npm run prebuildify` (same libc rule as prebuildify). */
export function hostTarget() {
  const libc = process.env.PREBUILD_LIBC || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  return { platform: platform(), arch: arch(), libc };
}

/** Problems with one binary, or [] when it looks right. */
function checkBinary(file, target, maxGlibc) {
  const bytes = readFileSync(file);
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) return [`${file}: not an ELF file`];
  const problems = [];
  if (bytes[4] !== 2) problems.push(`${file}: not a 64-bit ELF`);
  const machine = bytes.readUInt16LE(18);
  const want = ELF_MACHINE[target.arch];
  if (want !== undefined && machine !== want)
    problems.push(`${file}: built for ELF machine 0x${machine.toString(16)}, not ${target.arch}`);
  // The libc a shared object needs is named in its dynamic string table.
  const musl = bytes.includes('libc.musl-');
  const glibc = bytes.includes('libc.so.6\0');
  if (target.libc === 'musl' && !musl) problems.push(`${file}: named musl but does not link musl's libc`);
  if (target.libc === 'glibc' && !glibc) problems.push(`${file}: named glibc but does not link libc.so.6`);
  if (target.libc === 'glibc' && maxGlibc) {
    // Symbol versions it needs (GLIBC_2.34, ...) are strings in .gnu.version_r's string table.
    const minor = (v) => Number(v.split('.')[1]);
    const needed = [...bytes.toString('latin1').matchAll(/GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]));
    const newest = Math.max(0, ...needed);
    if (newest > minor(maxGlibc))
      problems.push(`${file}: needs GLIBC_2.${newest}, newer than the ${maxGlibc} the release supports`);
  }
  return problems;
}

/** Every problem with `root`/prebuilds for `targets`; [] when all is well. */
export function verifyPrebuilds(root, targets, { maxGlibc } = {}) {
  const problems = [];
  const expected = new Set(targets.map(prebuildPath));
  for (const target of targets) {
    const file = join(root, prebuildPath(target));
    if (!existsSync(file)) problems.push(`missing ${prebuildPath(target)}`);
    else problems.push(...checkBinary(file, target, maxGlibc));
  }
  const dir = join(root, 'prebuilds');
  for (const tuple of existsSync(dir) ? readdirSync(dir) : []) {
    const sub = join(dir, tuple);
    const entries = statSync(sub).isDirectory()
      ? readdirSync(sub).map((f) => join('prebuilds', tuple, f))
      : [join('prebuilds', tuple)];
    for (const entry of entries) if (!expected.has(entry)) problems.push(`unexpected ${entry}`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const release = args.includes('--release');
  const root = resolve(args.find((a) => !a.startsWith('--')) ?? '.');
  const targets = release ? RELEASE_TARGETS : [hostTarget()];
  const problems = verifyPrebuilds(root, targets, { maxGlibc: release ? RELEASE_GLIBC_FLOOR : undefined });
  if (problems.length > 0) {
    console.error(`prebuilds in ${root} are not ready:\n  ${problems.join('\n  ')}`);
    if (!release) console.error('Run `npm run prebuildify` first.');
    process.exit(1);
  }
  console.log(`ok: ${targets.map(prebuildPath).join(', ')}`);
}
