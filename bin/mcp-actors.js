#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `prepare` runs on install).
import { run } from '../dist/cli/main.js';

await run();
