// The shipped declarations, checked as a consumer sees them: test/types/*.test-d.{ts,cts} import
// 'shm-queue' by name, which resolves through package.json `exports` to dist/*.d.ts (built by
// `pretest`). Covers ESM `import` and CommonJS `require` typings.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('dist/*.d.ts type-check from ESM and CommonJS consumers', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = fileURLToPath(new URL('./types/tsconfig.json', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});
