import { spawnSync } from 'node:child_process';

/** One line for the whole run when the Redis tests cannot run (see test/redis-server.ts). */
export function setup(): void {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return;
  if (process.env['SHM_QUEUE_REQUIRE_REDIS'] === '1') {
    console.error('SHM_QUEUE_REQUIRE_REDIS=1 and redis-server is missing: the Redis tests will fail.');
  } else {
    console.warn(
      'Redis tests skipped: redis-server is not installed (apt-get install -y redis-server to run them; ' +
        'SHM_QUEUE_REQUIRE_REDIS=1 makes a missing server a failure).',
    );
  }
}
