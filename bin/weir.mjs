#!/usr/bin/env node
// Entry point of the `weir` command: loads the TypeScript sources through tsx so that a checkout
// runs after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../infra/cli/main.ts');
