// Trains a scikit-learn model in a Python worker and uses it from TypeScript
// through a handle: the model stays in Python, and a proxy calls into it.
//
// Run: npx tsx --conditions=@snakebridge/source examples/sklearn/main.ts

import { fileURLToPath } from 'node:url';
import { createBridge, HandleError, kwargs } from '@snakebridge/core';

await using bridge = await createBridge({
  // iris_data.py sits beside this file: the workers import it from here.
  python: { path: [fileURLToPath(new URL('.', import.meta.url))] },
  pool: { max: 1 },
  logLevel: 'warn',
});

// Untyped modules (no `snakebridge types` declarations) are proxies of type `any`.
// numpy arrays arrive as typed arrays (1-D) or NDArray { data, shape, dtype } (2-D).
const data = await bridge.module('iris_data').load();
console.log(`training on ${data.x_train.shape[0]} flowers, testing on ${data.x_test.shape[0]}`);

const { RandomForestClassifier } = bridge.module('sklearn.ensemble');
let released: unknown;
{
  // A forest cannot travel by value: it stays in the worker, and we hold a proxy.
  await using model = await RandomForestClassifier(kwargs({ n_estimators: 50, random_state: 0 }));
  console.log(`model: ${String(model)}`);

  // fit() returns self in Python: the same object, so the very same proxy.
  const fitted = await model.fit(data.x_train, data.y_train);
  console.log(`model.fit(X, y) === model: ${fitted === model}`);

  const accuracy: number = await model.score(data.x_test, data.y_test);
  console.log(`accuracy on the test set: ${accuracy.toFixed(3)}`);

  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.0, 2.9, 4.5, 1.5],
    [6.9, 3.1, 5.4, 2.1],
  ];
  const predicted: BigInt64Array = await model.predict(rows); // int64 labels
  for (const [i, row] of rows.entries()) {
    console.log(`predict ${JSON.stringify(row)} -> ${data.species[Number(predicted[i])]}`);
  }

  const importances: Float64Array = await model.feature_importances_; // an attribute: read it with await
  const best = importances.indexOf(Math.max(...importances));
  console.log(`most important feature: ${data.features[best]} (${importances[best]?.toFixed(2)})`);
  released = model;
} // `await using` frees the model in Python here; `await release(model)` does the same.

try {
  await (released as { predict(rows: number[][]): Promise<unknown> }).predict([[5.1, 3.5, 1.4, 0.2]]);
} catch (error) {
  if (HandleError.is(error)) console.log(`after release: ${error.message}`);
}
