#!/usr/bin/env node
// The `shm-queue` command (package.json "bin"). Kept in git with its executable bit so that it
// needs no chmod after `tsc`; the command itself is src/cli/index.ts, compiled to dist/cli/index.js.
import { main } from '../dist/cli/index.js';

main();
