#!/usr/bin/env node
// The `shm-queue` command (package.json "bin"). Kept in git with its executable bit so that it
// needs no chmod after `tsc`; the command itself is src/cli.ts, compiled to dist/cli.js.
import { main } from '../dist/cli.js';

main();
