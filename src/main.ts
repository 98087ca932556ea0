#!/usr/bin/env node
import cluster from 'node:cluster';
import { ConfigError, loadConfig, readEnvironment, type Config } from './config.js';
import { runPrimary } from './cluster/primary.js';
import { startServer } from './server.js';
import { clusterWorkerStats } from './stats.js';

// Entry point: parse config once, then be the cluster primary or one of its workers.
let config: Config;
try {
  config = loadConfig(readEnvironment());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

if (cluster.isPrimary) {
  runPrimary(config);
} else {
  startServer(config, clusterWorkerStats()).catch((err: unknown) => {
    process.stderr.write(`worker failed to start: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
