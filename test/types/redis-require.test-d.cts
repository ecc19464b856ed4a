// `require('shm-queue/redis')` from CommonJS (require(esm), Node >= 20.19). Only type-checked.
import redis = require('shm-queue/redis');

async function main(): Promise<number> {
  const q: redis.RedisQueue<string> = await redis.RedisQueue.open<string>('jobs', { redis: '/run/redis.sock' });
  return q.qsize();
}

export = { main };
