// Scenario scripts under test/raft/scenarios, one per Raft-paper section or dissertation topic:
// each command's printed trace must match the script. `UPDATE_SCENARIOS=1 npx vitest run
// test/raft/scenarios.test.ts` rewrites the scripts with the current traces, to review as a diff.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from './scenario-file.ts';

const dir = join(import.meta.dirname, 'scenarios');
const update = process.env.UPDATE_SCENARIOS === '1';

describe('raft scenarios', () => {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()) {
    it(file.replace(/\.txt$/, ''), () => {
      const path = join(dir, file);
      const script = readFileSync(path, 'utf8');
      const actual = runScenario(script);

      if (update) writeFileSync(path, actual);
      else expect(actual).toBe(script);
    });
  }
});
