// examples/sklearn runs against real Python and prints what its README says.

import { expect, it } from 'vitest';
import { runExample } from '../run-example.js';

it('trains, scores and predicts with a model kept in Python, then releases it', async () => {
  const { stdout, stderr } = await runExample('sklearn/main.ts');
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(9);
  expect(lines[0]).toBe('training on 112 flowers, testing on 38');
  expect(lines[1]).toMatch(/^model: <py RandomForestClassifier\(n_estimators=50, random_state=0\) #\d+>$/);
  expect(lines[2]).toBe('model.fit(X, y) === model: true');
  const accuracy = Number(lines[3]?.match(/^accuracy on the test set: (\d\.\d{3})$/)?.[1]);
  expect(accuracy).toBeGreaterThanOrEqual(0.9);
  expect(lines.slice(4, 7)).toEqual([
    'predict [5.1,3.5,1.4,0.2] -> setosa',
    'predict [6,2.9,4.5,1.5] -> versicolor',
    'predict [6.9,3.1,5.4,2.1] -> virginica',
  ]);
  expect(lines[7]).toMatch(/^most important feature: petal (width|length) \(cm\) \(0\.\d\d\)$/);
  expect(lines[8]).toMatch(
    /^after release: Handle \d+ \(sklearn\.ensemble\._forest\.RandomForestClassifier\) was released; it can no longer be used\.$/,
  );
  expect(stderr).toBe('');
}, 30_000);
