#!/usr/bin/env node
import cluster from 'node:cluster';
import { ConfigError, loadConfig, readEnvironment, type Config } from './config.js';

// Entry point: parse config once, then be the cluster primary or one of its workers. Each side loads
// only its own modules, so the primary does not carry Fastify, undici and the pool in its memory.
let config: Config;
try {
  config = loadConfig(readEnvironment());
  // Custom presets are checked as requests are, by the request parser (loaded only when there are some).
  if (Object.keys(config.customPresets).length > 0) {
    const { checkCustomPresets } = require('./sticker/variant.js') as typeof import('./sticker/variant.js');
    checkCustomPresets(config.customPresets, config.limits.maxOutputSize);
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

if (cluster.isPrimary) {
  (require('./cluster/primary.js') as typeof import('./cluster/primary.js')).runPrimary(config);
} else {
  const { reportStartFailure } = require('./cluster/start-failure.js') as typeof import('./cluster/start-failure.js');
  // A worker that cannot start (a taken port, a native module that does not load) tells the primary why;
  // the primary logs it once and decides whether to retry.
  try {
    const { startServer } = require('./server.js') as typeof import('./server.js');
    const { clusterWorkerStats } = require('./stats.js') as typeof import('./stats.js');
    const { clusterBus } = require('./bus.js') as typeof import('./bus.js');
    startServer(config, clusterWorkerStats(), clusterBus()).catch(reportStartFailure);
  } catch (err) {
    reportStartFailure(err);
  }
}
