// The real WorkerPool, with fake workers, against the ProcessPool contract.

import { silentLogger } from '@snakebridge/core';
import { describeProcessPoolContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { WorkerPool } from '../src/index.js';
import { type FakeWorker, fakeFactory } from './fake-worker.js';

describeProcessPoolContract<FakeWorker>(vitest, 'WorkerPool with fake workers', {
  makePool: (settings, shutdownGraceMs) => {
    const factory = fakeFactory();
    const pool = new WorkerPool({ factory: factory.factory, settings, shutdownGraceMs, logger: silentLogger });
    return {
      pool,
      workers: () => factory.workers,
      crash: (worker) => worker.crash('SIGKILL'),
      exited: (worker) => worker.hasExited,
      failStarts: (failing) => {
        factory.failing = failing;
      },
    };
  },
});
